//! Privileged tests of the runtime (filled below).
