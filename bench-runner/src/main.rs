fn main() {
    eprintln!("bench-runner: not implemented yet (see the runner issue)");
    std::process::exit(2);
}
