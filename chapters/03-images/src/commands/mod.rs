//! The image commands of chapter 03, one per file.

pub mod history;
pub mod images;
pub mod import;
pub mod inspect;
pub mod load;
pub mod prune;
pub mod rmi;
pub mod run;
pub mod save;
pub mod tag;
