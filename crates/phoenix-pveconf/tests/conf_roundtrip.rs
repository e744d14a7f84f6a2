//! `render(parse(x)) == x` for any input, and parsing never panics.

use phoenix_pveconf::conf::CtConf;
use proptest::prelude::*;

/// Lines built from the pieces that matter to the parser, so the interesting rules are hit.
fn conf_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{1,8}[0-9]{0,2}: ?[ -~]{0,12}",
        "lxc\\.[a-z.]{1,10}[ \t]*[:=][ \t]*[ -~]{0,10}",
        "#[ -~ä%]{0,12}",
        "\\[[a-zA-Z:_-]{0,12}\\][ \t]*",
        "description:[ -~]{0,10}",
        "delete: [a-z,!]{0,8}",
        "snapstate: (prepare|delete|x)",
        "[ \t\r]{0,3}",
        "\\PC{0,16}",
    ]
}

proptest! {
    #[test]
    fn structured_input_round_trips(lines in prop::collection::vec(conf_line(), 0..20), crlf: bool, last_nl: bool) {
        let sep = if crlf { "\r\n" } else { "\n" };
        let mut src = lines.join(sep);
        if last_nl && !src.is_empty() {
            src.push_str(sep);
        }
        let parsed = CtConf::parse(&src);
        prop_assert_eq!(parsed.conf.render(), src.clone());
        // Canonical rendering is a fixed point after one round.
        let once = parsed.conf.render_canonical();
        prop_assert_eq!(CtConf::parse(&once).conf.render_canonical(), once);
    }

    #[test]
    fn any_text_round_trips(src in "\\PC*[\n\r\t ]*\\PC*") {
        prop_assert_eq!(CtConf::parse(&src).conf.render(), src);
    }
}
