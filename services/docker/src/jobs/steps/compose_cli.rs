//! Compose command lines for one compose project, for either front end.
//!
//! `docker compose` (v2) and `docker-compose` (v1) take the same global options used here
//! (`--project-name`, `--file`, `--env-file`) and the same subcommands (`config`, `up`, `stop`,
//! `start`, `down`). Arguments are a list, never a shell line; the project name was validated
//! as a compose project name and paths are absolute.

use std::path::{Path, PathBuf};

use warp_events::docker::{ComposeCommand, ComposeFrontEnd};
use warp_jobs::process::ProcessSpec;

/// One compose project on disk.
#[derive(Debug, Clone)]
pub struct Compose {
    pub front_end: ComposeCommand,
    /// `-p`.
    pub project: String,
    /// Absolute compose file path; compose runs in its folder.
    pub file: PathBuf,
    /// The deploy env file, when the project has a deploy env.
    pub env_file: Option<PathBuf>,
}

impl Compose {
    /// Compose for `project` with `file`, run by `front_end`.
    pub fn new(front_end: &ComposeFrontEnd, project: &str, file: PathBuf, env_file: Option<&Path>) -> Self {
        Self { front_end: front_end.front_end, project: project.to_owned(), file, env_file: env_file.map(Path::to_path_buf) }
    }

    /// The process for `compose <global options> <subcommand…>`.
    pub fn spec(&self, subcommand: &[&str]) -> ProcessSpec {
        let (program, mut args): (&str, Vec<String>) = match self.front_end {
            ComposeCommand::Plugin => ("docker", vec!["compose".to_owned()]),
            ComposeCommand::Standalone => ("docker-compose", Vec::new()),
        };
        args.extend(["--project-name".to_owned(), self.project.clone(), "--file".to_owned(), self.file.display().to_string()]);
        if let Some(env_file) = &self.env_file {
            args.extend(["--env-file".to_owned(), env_file.display().to_string()]);
        }
        args.extend(subcommand.iter().map(|s| (*s).to_owned()));
        let mut spec = ProcessSpec::new(program, args);
        if let Some(dir) = self.file.parent() {
            spec = spec.current_dir(dir);
        }
        spec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_front_ends_get_an_explicit_project_file_and_env_file() {
        let v1 = ComposeFrontEnd { front_end: ComposeCommand::Standalone, version: "1.29.2".into() };
        let compose = Compose::new(&v1, "warp-shop-0a1b2c3d", "/w/app/compose.yaml".into(), Some(Path::new("/w/.warp/e.env")));
        let spec = compose.spec(&["up", "--build", "-d"]);
        assert_eq!(spec.program, "docker-compose");
        let args: Vec<_> = spec.args.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(
            args,
            ["--project-name", "warp-shop-0a1b2c3d", "--file", "/w/app/compose.yaml", "--env-file", "/w/.warp/e.env", "up", "--build", "-d"]
        );
        assert_eq!(spec.cwd.as_deref(), Some(Path::new("/w/app")));
        let v2 = ComposeFrontEnd { front_end: ComposeCommand::Plugin, version: "2.29.0".into() };
        let spec = Compose::new(&v2, "p", "/w/c.yml".into(), None).spec(&["down"]);
        assert_eq!(spec.program, "docker");
        assert_eq!(spec.args[0], "compose");
    }
}
