//! Resolving `-u NAME|UID[:GROUP|GID]` in the container's /etc/passwd and /etc/group.
