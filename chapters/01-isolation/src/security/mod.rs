//! Capabilities and seccomp: what the container's process may still do.
