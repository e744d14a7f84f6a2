//! `pvesm`: the emulator of Proxmox's storage CLI (`status` only).

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(pct_emulator::pvesm::main(&argv));
}
