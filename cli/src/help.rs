//! The command tree as the program parses it, and the layout of its help pages.
//!
//! - `grantline --help` lists the global options once, under their headings (Server, Client,
//!   Connection, Output, Profile).
//! - A subcommand's help shows its one-line description, then its examples (its `before_help`),
//!   then its usage and its own options, one line pointing to `grantline --help` for the global
//!   ones, and its further notes (its `after_help`).
//!
//! Convention for every subcommand, present and future: examples go in `before_help`, notes in
//! `after_help`. The templates are set here on the whole tree, so a new subcommand needs nothing
//! else.
//!
//! The global options are `global = true`, so they are accepted after a subcommand's name too.
//! clap would list them again on every subcommand's help page; [`command`] gives every
//! subcommand a hidden copy of each instead (clap propagates a global option only where the
//! subcommand has none of that name), so they parse everywhere and show once.

use clap::{ArgMatches, Command, CommandFactory as _, FromArgMatches as _};

use crate::args::Cli;

/// The top-level help: description, examples, usage, subcommands, global options by heading,
/// then the notes (exit codes).
const ROOT_TEMPLATE: &str = "\
{about-with-newline}
{before-help}{usage-heading} {usage}

{all-args}{after-help}";

/// A subcommand's help: description, examples, usage, its own options, the pointer to the
/// global options, then the notes.
const SUBCOMMAND_TEMPLATE: &str = "\
{about-with-newline}
{before-help}{usage-heading} {usage}

{all-args}

Global options (server, client, connection, output): see `grantline --help`.{after-help}";

/// The command tree the program parses: the derived one, with the help templates set and the
/// global options hidden from every subcommand's help.
pub(crate) fn command() -> Command {
    let root = Cli::command();
    let globals: Vec<clap::Arg> = root
        .get_arguments()
        .filter(|arg| arg.is_global_set())
        .cloned()
        .collect();
    let names: Vec<String> = root
        .get_subcommands()
        .map(|sc| sc.get_name().to_owned())
        .collect();
    let mut root = root.help_template(ROOT_TEMPLATE);
    for name in names {
        root = root.mut_subcommand(name, |sc| subcommand(sc, &globals));
    }
    root
}

/// A subcommand (and its own subcommands): the subcommand template, and a hidden copy of each
/// global option.
fn subcommand(mut sc: Command, globals: &[clap::Arg]) -> Command {
    for arg in globals {
        if sc.get_arguments().all(|own| own.get_id() != arg.get_id()) {
            sc = sc.arg(arg.clone().hide(true));
        }
    }
    let names: Vec<String> = sc
        .get_subcommands()
        .map(|inner| inner.get_name().to_owned())
        .collect();
    // `--help` shows the same compact page as `-h`: one line per option and its values.
    let mut sc = sc
        .help_template(SUBCOMMAND_TEMPLATE)
        .disable_help_flag(true)
        .arg(
            clap::Arg::new("help")
                .short('h')
                .long("help")
                .action(clap::ArgAction::HelpShort)
                .help("Print help"),
        );
    for name in names {
        sc = sc.mut_subcommand(name, |inner| subcommand(inner, globals));
    }
    sc
}

/// Parses a command line with [`command`].
///
/// # Errors
///
/// clap's error (usage errors, and `--help` and `--version`, which print and succeed).
pub(crate) fn try_parse_from<I, T>(argv: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut cmd = command();
    let matches: ArgMatches = cmd.try_get_matches_from_mut(argv)?;
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every help page: the path of names and the command, depth first, without clap's own
    /// `help` subcommand.
    fn pages() -> Vec<(String, Command)> {
        fn walk(path: &str, cmd: &Command, out: &mut Vec<(String, Command)>) {
            for sc in cmd.get_subcommands().filter(|sc| sc.get_name() != "help") {
                let path = format!("{path} {}", sc.get_name());
                out.push((path.clone(), sc.clone()));
                walk(&path, sc, out);
            }
        }
        let mut root = command();
        root.build();
        let mut out = Vec::new();
        walk("grantline", &root, &mut out);
        out
    }

    /// The help text as a user sees it, for `grantline PATH --help` (long) or `-h`.
    fn help(path: &str, long: bool) -> String {
        let mut argv: Vec<&str> = path.split(' ').collect();
        argv.push(if long { "--help" } else { "-h" });
        let error = try_parse_from(argv).expect_err("help is an early exit");
        assert_eq!(error.kind(), clap::error::ErrorKind::DisplayHelp, "{path}");
        error.render().to_string()
    }

    /// The global options' long names.
    fn global_options() -> Vec<String> {
        Cli::command()
            .get_arguments()
            .filter(|arg| arg.is_global_set() && !arg.is_hide_set())
            .filter_map(|arg| arg.get_long().map(|long| format!("--{long}")))
            .collect()
    }

    /// How many times `text` lists the option `long` (as an option line, not a mention in
    /// prose): `      --long <VALUE>  ...` or `  -s, --long ...`.
    fn lists(text: &str, long: &str) -> usize {
        text.lines()
            // An option's own line is indented by at most six spaces (`  -o, --output`,
            // `      --issuer`); its wrapped description deeper, where a line may start with
            // another option's name.
            .filter(|line| {
                let indent = line.len() - line.trim_start().len();
                indent <= 6 && line.trim_start().starts_with('-')
            })
            .filter(|line| {
                let line = line.trim_start();
                let mut chars = line.chars();
                let line = match (chars.next(), chars.next(), chars.next()) {
                    (Some('-'), Some(c), Some(',')) if c != '-' => chars.as_str().trim_start(),
                    _ => line,
                };
                line.split([' ', '<', '=', '[']).next() == Some(long)
            })
            .count()
    }

    #[test]
    fn the_tree_is_found() {
        let paths: Vec<String> = pages().into_iter().map(|(path, _)| path).collect();
        for expected in [
            "grantline token client-credentials",
            "grantline profile add",
            "grantline client update",
        ] {
            assert!(paths.iter().any(|p| p == expected), "{paths:?}");
        }
    }

    #[test]
    fn every_subcommand_help_is_short_example_first_and_without_global_options() {
        let globals = global_options();
        assert!(globals.iter().any(|g| g == "--client-secret-file"));
        for (path, _) in pages() {
            for long in [true, false] {
                let text = help(&path, long);
                let lines: Vec<&str> = text.lines().collect();
                assert!(
                    lines.len() < 60,
                    "`{path} {}` has {} lines:\n{text}",
                    if long { "--help" } else { "-h" },
                    lines.len()
                );
                let usage = lines
                    .iter()
                    .position(|l| l.starts_with("Usage:"))
                    .unwrap_or_else(|| panic!("no Usage: in `{path}`:\n{text}"));
                let example = lines
                    .iter()
                    .position(|l| l.starts_with("Example"))
                    .unwrap_or_else(|| panic!("no example in `{path}`:\n{text}"));
                assert!(
                    example < usage
                        && lines[example..usage]
                            .iter()
                            .any(|l| l.starts_with("  ") && l.contains("grantline ")),
                    "`{path}`: an example command comes before Usage:\n{text}"
                );
                // The option lists: after the usage line (the examples may mention any option).
                let options = lines[usage..].join("\n");
                for global in &globals {
                    assert_eq!(
                        lists(&options, global),
                        0,
                        "`{path}` lists {global}:\n{text}"
                    );
                }
                assert!(text.contains("see `grantline --help`"), "{path}:\n{text}");
            }
        }
    }

    #[test]
    fn the_top_level_help_lists_each_global_option_once() {
        let text = help("grantline", true);
        let text = text.split_once("\nUsage:").map_or("", |(_, after)| after);
        for global in global_options() {
            assert_eq!(lists(text, &global), 1, "{global}:\n{text}");
        }
        for heading in ["Server:", "Client:", "Connection:", "Output:", "Profile:"] {
            assert!(text.lines().any(|l| l == heading), "{heading}:\n{text}");
        }
        let short = help("grantline", false);
        let short = short.split_once("\nUsage:").map_or("", |(_, after)| after);
        for global in global_options() {
            assert_eq!(lists(short, &global), 1, "{global}:\n{short}");
        }
    }

    #[test]
    fn global_options_still_parse_after_any_subcommand() {
        let cli = try_parse_from([
            "grantline",
            "token",
            "client-credentials",
            "--client-id",
            "x",
            "--client-secret-file",
            "s.txt",
            "-o",
            "text",
            "--insecure-http",
        ])
        .unwrap();
        assert_eq!(cli.global.client_id.as_deref(), Some("x"));
        assert_eq!(
            cli.global.client_secret_file.as_deref(),
            Some(std::path::Path::new("s.txt"))
        );
        assert_eq!(cli.global.output, crate::args::OutputFormat::Text);
        assert!(cli.global.insecure_http);
        let cli =
            try_parse_from(["grantline", "profile", "show", "work", "--profile", "p"]).unwrap();
        assert_eq!(cli.global.profile.as_deref(), Some("p"));
        // Before the subcommand, as always: a subcommand's default does not override it.
        let cli = try_parse_from([
            "grantline",
            "--client-id",
            "y",
            "-o",
            "text",
            "-v",
            "token",
            "client-credentials",
        ])
        .unwrap();
        assert_eq!(cli.global.client_id.as_deref(), Some("y"));
        assert_eq!(cli.global.output, crate::args::OutputFormat::Text);
        assert!(cli.global.verbose);
        let cli = try_parse_from(["grantline", "-o", "text", "client", "show", "bot"]).unwrap();
        assert_eq!(cli.global.output, crate::args::OutputFormat::Text);
    }

    #[test]
    fn the_parsed_tree_is_consistent() {
        command().debug_assert();
    }
}
