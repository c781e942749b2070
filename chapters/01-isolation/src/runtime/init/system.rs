//! Per-container kernel settings: host name, loopback, sysctls, OOM score, rlimits.

use berth_engine::oci_spec::runtime::{PosixRlimitType, Process, Spec};
use nix::errno::Errno;

use super::{InitFailure, Step};

/// `hostname` and `domainname` of the spec, in our UTS namespace.
pub fn set_hostname(spec: &Spec) -> Result<(), InitFailure> {
    if let Some(name) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(name).step(|| format!("setting the host name {name:?}"))?;
    }
    if let Some(name) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        // SAFETY: the pointer and length describe `name`'s bytes.
        let rc = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
        Errno::result(rc).step(|| format!("setting the domain name {name:?}"))?;
    }
    Ok(())
}

// ANCHOR: loopback_up
/// Brings `lo` up in our new network namespace (it starts down, so even
/// 127.0.0.1 would be unreachable). The old interface ioctls are enough: read
/// the flags, add IFF_UP, write them back.
pub fn loopback_up() -> Result<(), InitFailure> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
    use std::os::fd::AsRawFd;
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .step(|| "opening a socket to configure lo".into())?;
    // SAFETY: ifreq is plain old data; zeroed is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the ifreq we own.
    unsafe {
        Errno::result(libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr))
            .step(|| "reading lo's flags".into())?;
        ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        Errno::result(libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &ifr))
            .step(|| "bringing lo up".into())?;
    }
    Ok(())
}
// ANCHOR_END: loopback_up

/// `linux.sysctl`: `net.ipv4.ip_forward` is the file /proc/sys/net/ipv4/ip_forward.
pub fn write_sysctls(spec: &Spec) -> Result<(), InitFailure> {
    let sysctls = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref());
    for (key, value) in sysctls.into_iter().flatten() {
        let path = sysctl_path(key);
        std::fs::write(&path, value).step(|| format!("setting sysctl {key}={value}"))?;
    }
    Ok(())
}

/// The /proc/sys file of a sysctl key.
pub fn sysctl_path(key: &str) -> String {
    format!("/proc/sys/{}", key.replace('.', "/"))
}

/// `process.oomScoreAdj`, when set.
pub fn set_oom_score_adj(process: &Process) -> Result<(), InitFailure> {
    if let Some(adj) = process.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .step(|| format!("setting oom_score_adj {adj}"))?;
    }
    Ok(())
}

/// `process.rlimits`.
pub fn set_rlimits(process: &Process) -> Result<(), InitFailure> {
    for limit in process.rlimits().iter().flatten() {
        let resource = rlimit_resource(limit.typ());
        let value = libc::rlimit {
            rlim_cur: limit.soft(),
            rlim_max: limit.hard(),
        };
        // SAFETY: setrlimit reads the struct we own.
        let rc = unsafe { libc::setrlimit(resource, &value) };
        Errno::result(rc).step(|| {
            format!(
                "setting {:?} to {}/{}",
                limit.typ(),
                limit.soft(),
                limit.hard()
            )
        })?;
    }
    Ok(())
}

/// The kernel's number for an OCI rlimit name.
pub fn rlimit_resource(typ: PosixRlimitType) -> libc::__rlimit_resource_t {
    use PosixRlimitType as T;
    match typ {
        T::RlimitCpu => libc::RLIMIT_CPU,
        T::RlimitFsize => libc::RLIMIT_FSIZE,
        T::RlimitData => libc::RLIMIT_DATA,
        T::RlimitStack => libc::RLIMIT_STACK,
        T::RlimitCore => libc::RLIMIT_CORE,
        T::RlimitRss => libc::RLIMIT_RSS,
        T::RlimitNproc => libc::RLIMIT_NPROC,
        T::RlimitNofile => libc::RLIMIT_NOFILE,
        T::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        T::RlimitAs => libc::RLIMIT_AS,
        T::RlimitLocks => libc::RLIMIT_LOCKS,
        T::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        T::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        T::RlimitNice => libc::RLIMIT_NICE,
        T::RlimitRtprio => libc::RLIMIT_RTPRIO,
        T::RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_keys_are_paths_under_proc_sys() {
        assert_eq!(
            sysctl_path("net.ipv4.ip_forward"),
            "/proc/sys/net/ipv4/ip_forward"
        );
    }

    #[test]
    fn rlimit_names_map_to_the_kernels_numbers() {
        assert_eq!(
            rlimit_resource(PosixRlimitType::RlimitNofile),
            libc::RLIMIT_NOFILE
        );
        assert_eq!(
            rlimit_resource(PosixRlimitType::RlimitNproc),
            libc::RLIMIT_NPROC
        );
    }
}
