//! The ISCC conformance suite: every case of iscc-core 1.5.0's `data.json` for the six functions this
//! module implements, with every output the case lists.
//!
//! The file maps a function name to named cases of positional `inputs` and an `outputs` object; byte
//! inputs are hex strings prefixed `stream:` or `bytes:`. Each function must have cases, so a renamed
//! key in a future fixture fails the test instead of skipping it, and an output key this test does not
//! know fails it too.

use super::*;
use serde_json::{Map, Value};

const DATA: &str = include_str!("../../../fixtures/iscc/data.json");

/// The functions checked here and how many cases iscc-core 1.5.0 ships for each.
const FUNCTIONS: [(&str, usize); 6] = [
    ("gen_meta_code_v0", 20),
    ("gen_text_code_v0", 5),
    ("gen_image_code_v0", 3),
    ("gen_data_code_v0", 4),
    ("gen_instance_code_v0", 3),
    ("gen_iscc_code_v0", 5),
];

fn hex_bytes(value: &Value) -> Vec<u8> {
    let text = value.as_str().expect("hex input is a string");
    let hex = text.strip_prefix("stream:").or_else(|| text.strip_prefix("bytes:")).expect("stream: or bytes: prefix");
    assert!(hex.len().is_multiple_of(2), "odd hex length");
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit")).collect()
}

fn bits(value: &Value) -> u32 {
    u32::try_from(value.as_u64().expect("bits is a number")).expect("bits fits u32")
}

fn text(value: &Value) -> &str {
    value.as_str().expect("string input")
}

/// Compares the computed outputs of one case with the expected ones, key by key.
fn check(function: &str, case: &str, expected: &Map<String, Value>, actual: &Map<String, Value>) -> Result<(), String> {
    for (key, want) in expected {
        let got = actual.get(key).ok_or_else(|| format!("{function}.{case}: output {key:?} not computed"))?;
        if got != want {
            return Err(format!("{function}.{case}: {key} is {got}, expected {want}"));
        }
    }
    for key in actual.keys() {
        if !expected.contains_key(key) {
            return Err(format!("{function}.{case}: computed {key:?}, which the reference does not report"));
        }
    }
    Ok(())
}

/// Runs one case and returns its outputs as the reference names them.
fn run(function: &str, inputs: &[Value]) -> Result<Map<String, Value>, IsccError> {
    let mut out = Map::new();
    match function {
        "gen_meta_code_v0" => {
            let meta = match &inputs[2] {
                Value::Null => None,
                Value::String(url) => Some(Meta::DataUrl(url)),
                object => Some(Meta::Json(object)),
            };
            let code = meta_code(text(&inputs[0]), text(&inputs[1]), meta, bits(&inputs[3]))?;
            out.insert("iscc".into(), code.iscc.into());
            out.insert("name".into(), code.name.into());
            if let Some(description) = code.description {
                out.insert("description".into(), description.into());
            }
            if let Some(meta) = code.meta {
                out.insert("meta".into(), meta.into());
            }
            out.insert("metahash".into(), code.metahash.into());
        }
        "gen_text_code_v0" => {
            let code = text_code(text(&inputs[0]), bits(&inputs[1]))?;
            out.insert("iscc".into(), code.iscc.into());
            out.insert("characters".into(), code.characters.into());
        }
        "gen_image_code_v0" => {
            let pixels: Vec<u8> = inputs[0]
                .as_array()
                .expect("pixel array")
                .iter()
                .map(|p| u8::try_from(p.as_u64().expect("pixel number")).expect("pixel fits u8"))
                .collect();
            out.insert("iscc".into(), image_code_from_pixels(&pixels, bits(&inputs[1]))?.into());
        }
        "gen_data_code_v0" => {
            out.insert("iscc".into(), data_code(&hex_bytes(&inputs[0]), bits(&inputs[1]))?.into());
        }
        "gen_instance_code_v0" => {
            let code = instance_code(&hex_bytes(&inputs[0]), bits(&inputs[1]))?;
            out.insert("iscc".into(), code.iscc.into());
            out.insert("datahash".into(), code.datahash.into());
            out.insert("filesize".into(), code.filesize.into());
        }
        "gen_iscc_code_v0" => {
            let units: Vec<&str> = inputs[0].as_array().expect("unit list").iter().map(text).collect();
            let wide = inputs.get(1).and_then(Value::as_bool).unwrap_or(false);
            out.insert("iscc".into(), iscc_code(&units, wide)?.into());
        }
        other => panic!("no runner for {other}"),
    }
    Ok(out)
}

#[test]
fn every_conformance_case_passes() {
    let data: Value = serde_json::from_str(DATA).expect("data.json parses");
    assert_eq!(data["_metadata"]["generator"], "iscc-core 1.5.0");
    let mut failures = Vec::new();
    let mut passed = Vec::new();
    for (function, shipped) in FUNCTIONS {
        let cases = data[function].as_object().unwrap_or_else(|| panic!("{function} missing from data.json"));
        assert!(!cases.is_empty(), "{function} has no cases: the test would pass vacuously");
        assert_eq!(cases.len(), shipped, "{function}: the fixture's case count changed");
        let mut ok = 0;
        for (case, spec) in cases {
            let inputs = spec["inputs"].as_array().expect("inputs array");
            let expected = spec["outputs"].as_object().expect("outputs object");
            match run(function, inputs) {
                Ok(actual) => match check(function, case, expected, &actual) {
                    Ok(()) => ok += 1,
                    Err(message) => failures.push(message),
                },
                Err(error) => failures.push(format!("{function}.{case}: {error}")),
            }
        }
        passed.push(format!("{function}: {ok}/{}", cases.len()));
    }
    println!("{}", passed.join("\n"));
    assert!(failures.is_empty(), "{} conformance failures:\n{}", failures.len(), failures.join("\n"));
}
