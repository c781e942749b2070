//! Extended attributes travel in PAX headers as `SCHILY.xattr.NAME`. Only an
//! allow-list is applied: file capabilities and `user.*`. `trusted.*` is
//! refused above all, because `trusted.overlay.*` would let a layer forge
//! overlayfs whiteouts, opaque directories or redirects in chapter 05's
//! lower directories; `security.selinux` and ACLs belong to the host.

use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStringExt;

/// The PAX key prefix GNU tar, bsdtar and docker use for xattrs.
const PAX_XATTR_PREFIX: &[u8] = b"SCHILY.xattr.";

/// One extended attribute: its name and value.
pub(super) type Xattr = (OsString, Vec<u8>);

// ANCHOR: xattr_allow_list
/// Whether a layer may set the extended attribute `name`.
pub fn allowed(name: &[u8]) -> bool {
    name == b"security.capability" || (name.starts_with(b"user.") && name.len() > b"user.".len())
}
// ANCHOR_END: xattr_allow_list

/// The allowed xattrs among an entry's PAX records.
pub(super) fn from_entry<R: io::Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<Vec<Xattr>> {
    let Some(records) = entry.pax_extensions()? else {
        return Ok(Vec::new());
    };
    let mut xattrs = Vec::new();
    for record in records {
        let record = record?;
        if let Some(name) = record.key_bytes().strip_prefix(PAX_XATTR_PREFIX)
            && allowed(name)
        {
            xattrs.push((
                OsString::from_vec(name.to_vec()),
                record.value_bytes().to_vec(),
            ));
        }
    }
    Ok(xattrs)
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn capabilities_and_user_attributes_pass() {
        assert!(allowed(b"security.capability"));
        assert!(allowed(b"user.mime_type"));
    }

    #[test]
    fn trusted_and_other_namespaces_are_dropped() {
        assert!(!allowed(b"trusted.overlay.opaque"));
        assert!(!allowed(b"trusted.overlay.redirect"));
        assert!(!allowed(b"security.selinux"));
        assert!(!allowed(b"system.posix_acl_access"));
        assert!(!allowed(b"user."));
        assert!(!allowed(b"security.capability2"));
    }
}
