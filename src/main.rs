fn main() -> std::process::ExitCode {
    orgsync::run(std::env::args_os())
}
