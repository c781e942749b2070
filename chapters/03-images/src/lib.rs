//! # Chapter 03 — images
//!
//! An image is a stack of file-system layers plus a configuration, every piece
//! named by the SHA-256 of its bytes. This chapter stores images as an OCI image
//! layout, reads and writes the archives `docker save` and `skopeo` make, and
//! runs a container from an image by unpacking its layers.
//!
//! - [`reference`](mod@reference): `busybox` is `docker.io/library/busybox:latest`;
//! - [`store`]: the content-addressed store under `BERTH_ROOT/images`;
//! - [`layer`]: applying a layer tar safely, whiteouts included;
//! - [`archive`]: `load`, `save`, `import`;
//! - [`rootfs`], [`image_config`]: running an image;
//! - [`changes`]: `-c` instructions;
//! - [`commands`]: the CLI glue, one command per file.
//!
//! Read it in the book: chapter 03, "Images".
#![deny(missing_docs)]

pub mod archive;
pub mod changes;
pub mod commands;
pub mod image_config;
pub mod layer;
pub mod reference;
pub mod rootfs;
pub mod store;

use berth_engine::cli::{Command, ContainerCommand, ImageCommand};
use berth_engine::oci_spec::runtime::Spec;
use berth_engine::{Chapter, ContainerPlan, Engine, Result, RootFilesystem};

/// Chapter 03 as a plug-in.
pub struct Images;

/// The chapter value a binary registers.
pub static IMAGES: Images = Images;

// ANCHOR: chapter_03
impl Chapter for Images {
    fn number(&self) -> u8 {
        3
    }

    fn run_command(&self, engine: &Engine, command: &Command) -> Option<Result<i32>> {
        use commands::*;
        Some(match command {
            // Chapter 03 takes `run` over from chapter 01 to add `run IMAGE`.
            Command::Run(args) | Command::Container(ContainerCommand::Run(args)) => {
                run::run(engine, args)
            }
            Command::Load(args) | Command::Image(ImageCommand::Load(args)) => {
                load::load(engine, args)
            }
            Command::Save(args) | Command::Image(ImageCommand::Save(args)) => {
                save::save(engine, args)
            }
            Command::Import(args) | Command::Image(ImageCommand::Import(args)) => {
                import::import(engine, args)
            }
            Command::Images(args) | Command::Image(ImageCommand::Ls(args)) => {
                images::images(engine, args)
            }
            Command::Tag(args) | Command::Image(ImageCommand::Tag(args)) => tag::tag(engine, args),
            Command::Rmi(args) | Command::Image(ImageCommand::Rm(args)) => rmi::rmi(engine, args),
            Command::History(args) | Command::Image(ImageCommand::History(args)) => {
                history::history(engine, args)
            }
            Command::Inspect(args) => inspect::inspect(engine, args),
            Command::Image(ImageCommand::Inspect(args)) => inspect::image_inspect(engine, args),
            Command::Image(ImageCommand::Prune(args)) => prune::prune(engine, args),
            _ => return None,
        })
    }

    fn edit_spec(&self, engine: &Engine, plan: &ContainerPlan, spec: &mut Spec) -> Result<()> {
        image_config::edit(engine, plan, spec)
    }

    fn root_filesystem(&self) -> Option<&dyn RootFilesystem> {
        Some(&rootfs::CopyRootfs)
    }
}
// ANCHOR_END: chapter_03
