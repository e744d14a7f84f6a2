//! `pct`: the emulator of Proxmox's container CLI (state under `$PHOENIX_ROOT`).

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(pct_emulator::pct::main(&argv));
}
