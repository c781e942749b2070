//! The channel between the runtime and the container's init: one close-on-exec
//! `SOCK_SEQPACKET` socket pair. It carries "go on" (runtime → init), "ready",
//! the pty master (by `SCM_RIGHTS`) and a failure report (init → runtime).
//!
//! Because the init's end is close-on-exec, the runtime reads end-of-file exactly
//! when execve succeeded: a successful exec needs no message at all.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
    sendmsg, socketpair,
};
use serde::{Deserialize, Serialize};

use super::error::FailureKind;

/// The largest message: a failure report with a long path in it.
const MAX_MESSAGE: usize = 8192;

/// What travels on the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// Runtime → init: the cgroup is in place, go on.
    Go,
    /// Init → runtime: the pty master comes with this message.
    Console,
    /// Init → runtime (`create`): set up, waiting on the exec fifo.
    Ready,
    /// Init → runtime: a step failed; the init exits after sending this.
    Failed {
        /// Which exit code it maps to.
        kind: FailureKind,
        /// One line saying what failed.
        message: String,
    },
}

impl Message {
    /// The bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a message always serialises")
    }

    /// Reads a message back; `None` when the bytes are no message.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

/// One end of the channel.
#[derive(Debug)]
pub struct Channel {
    socket: OwnedFd,
}

/// Both ends, before clone: the runtime keeps one, the init the other.
pub fn pair() -> nix::Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    Ok((Channel { socket: a }, Channel { socket: b }))
}

impl Channel {
    /// Whether the other end is gone (its process exited): the socket reports a hang-up.
    pub fn peer_gone(&self) -> bool {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let mut fds = [PollFd::new(self.socket.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::ZERO).is_ok_and(|n| {
            n > 0
                && fds[0]
                    .revents()
                    .is_some_and(|r| r.contains(PollFlags::POLLHUP))
        })
    }

    /// Sends a message, with a file descriptor attached if given. `MSG_NOSIGNAL`:
    /// a runtime that went away must not kill the init with SIGPIPE.
    pub fn send(&self, message: &Message, fd: Option<BorrowedFd<'_>>) -> nix::Result<()> {
        let bytes = message.encode();
        let iov = [IoSlice::new(&bytes)];
        let fds: Vec<RawFd> = fd.iter().map(|f| f.as_raw_fd()).collect();
        let cmsgs: Vec<ControlMessage> = match fds.is_empty() {
            true => vec![],
            false => vec![ControlMessage::ScmRights(&fds)],
        };
        sendmsg::<()>(
            self.socket.as_raw_fd(),
            &iov,
            &cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )?;
        Ok(())
    }

    /// Waits for the next message and any descriptor sent with it; `None` at
    /// end-of-file (the other side exec'd or exited).
    pub fn recv(&self) -> nix::Result<Option<(Message, Option<OwnedFd>)>> {
        let mut buf = vec![0u8; MAX_MESSAGE];
        let mut cmsg_space = nix::cmsg_space!([RawFd; 1]);
        let (len, fd) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<()>(
                self.socket.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg_space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(e),
                Ok(msg) => {
                    let fd = msg.cmsgs()?.find_map(|c| match c {
                        // SAFETY: the kernel just installed this descriptor for us.
                        ControlMessageOwned::ScmRights(fds) => {
                            fds.first().map(|&fd| unsafe { OwnedFd::from_raw_fd(fd) })
                        }
                        _ => None,
                    });
                    break (msg.bytes, fd);
                }
            }
        };
        if len == 0 {
            return Ok(None);
        }
        Message::decode(&buf[..len])
            .map(|m| Some((m, fd)))
            .ok_or(nix::Error::EBADMSG)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let m = Message::Failed {
            kind: FailureKind::NotFound,
            message: "exec \"x\": no such file or directory".into(),
        };
        assert_eq!(Message::decode(&m.encode()), Some(m));
        assert_eq!(Message::decode(b"nonsense"), None);
    }

    #[test]
    fn a_descriptor_travels_with_its_message_and_eof_follows_close() {
        let (runtime, init) = pair().unwrap();
        let file = std::fs::File::open("/dev/null").unwrap();
        use std::os::fd::AsFd;
        init.send(&Message::Console, Some(file.as_fd())).unwrap();
        init.send(&Message::Ready, None).unwrap();
        let (m, fd) = runtime.recv().unwrap().unwrap();
        assert_eq!(m, Message::Console);
        let fd = fd.expect("a descriptor");
        let meta = std::fs::File::from(fd).metadata().unwrap();
        assert_eq!(meta.len(), 0);
        let (m, fd) = runtime.recv().unwrap().unwrap();
        assert_eq!(m, Message::Ready);
        assert!(fd.is_none());
        drop(init);
        assert!(runtime.recv().unwrap().is_none());
    }
}
