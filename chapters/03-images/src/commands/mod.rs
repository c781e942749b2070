//! The image commands of chapter 03, one per file.

pub mod import;
pub mod load;
pub mod run;
pub mod save;
pub mod images;
pub mod rmi;
pub mod tag;
pub mod history;
pub mod inspect;
pub mod prune;
