//! `pveversion`: the emulated node's release (`PCT_EMU_PVE_VERSION=8|9`, default 9).

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(pct_emulator::pve::main(&argv));
}
