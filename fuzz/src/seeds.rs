//! Seed modules: hand-written ones that reach every part of an image (tables, `call_indirect`,
//! element and data segments of every mode, globals, memory, tail calls, imports), and
//! wasm-smith modules in the translator's feature set (or in all of Wasm, for the translator).

use arbitrary::Unstructured;

use crate::rng::Rng;

/// Hand-written seed modules, by name.
pub const WAT: &[(&str, &str)] = &[
    (
        "tables-and-indirect-calls",
        r#"(module
  (type $ii (func (param i32) (result i32)))
  (type $v (func))
  (table $t 8 16 funcref)
  (table $u 2 externref)
  (elem (table $t) (i32.const 0) func $inc $dbl $neg)
  (elem $p funcref (ref.func $inc) (ref.null func) (ref.func $neg))
  (elem declare func $dbl)
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (func $neg (type $ii) (i32.sub (i32.const 0) (local.get 0)))
  (func (export "call") (param i32 i32) (result i32)
    (call_indirect $t (type $ii) (local.get 1) (local.get 0)))
  (func (export "init") (param i32) (result i32)
    (table.init $t $p (local.get 0) (i32.const 0) (i32.const 3))
    (elem.drop $p)
    (table.size $t))
  (func (export "grow") (param i32) (result i32)
    (table.grow $t (ref.func $dbl) (local.get 0)))
  (func (export "fill") (param i32 i32)
    (table.fill $t (local.get 0) (ref.func $inc) (local.get 1)))
  (func (export "set") (param i32)
    (table.set $t (local.get 0) (ref.null func)))
  (func (export "copy") (param i32 i32 i32)
    (table.copy $t $t (local.get 0) (local.get 1) (local.get 2)))
  (func (export "isnull") (param i32) (result i32)
    (ref.is_null (table.get $t (local.get 0))))
  (func (export "ext") (param externref) (result i32)
    (table.set $u (i32.const 1) (local.get 0))
    (ref.is_null (table.get $u (i32.const 1)))))"#,
    ),
    (
        "globals-and-const-exprs",
        r#"(module
  (import "env" "g" (global $imp i32))
  (import "env" "mg" (global $mimp (mut i64)))
  (global $a (mut i32) (i32.const 7))
  (global $b i32 (i32.add (global.get $imp) (i32.const 3)))
  (global $c (mut i64) (i64.mul (i64.const 6) (i64.sub (i64.const 9) (i64.const 2))))
  (global $d (mut f32) (f32.const 1.5))
  (global $e (mut f64) (f64.const -2.25))
  (global $f funcref (ref.func $get))
  (global $h (mut externref) (ref.null extern))
  (func $get (export "get") (result i32) (i32.add (global.get $a) (global.get $b)))
  (func (export "bump") (param i32) (result i32)
    (global.set $a (i32.add (global.get $a) (local.get 0)))
    (global.set $mimp (i64.add (global.get $mimp) (i64.const 1)))
    (global.get $a))
  (func (export "mix") (result f64)
    (global.set $d (f32.mul (global.get $d) (f32.const 3)))
    (f64.add (f64.promote_f32 (global.get $d)) (global.get $e)))
  (func (export "wide") (result i64) (global.get $c))
  (export "a" (global $a)))"#,
    ),
    (
        "memory-and-data",
        r#"(module
  (memory $m 1 4)
  (data (i32.const 16) "hello, chiwawa")
  (data $p "passive bytes")
  (func (export "load") (param i32) (result i32) (i32.load8_u offset=16 (local.get 0)))
  (func (export "store") (param i32 i64) (i64.store offset=8 (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "init") (param i32) (memory.init $p (local.get 0) (i32.const 0) (i32.const 13)))
  (func (export "drop") (data.drop $p))
  (func (export "fill") (param i32 i32 i32)
    (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32)
    (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "sum") (param i32) (result i32) (local $i i32) (local $s i32)
    (block $out
      (loop $l
        (br_if $out (i32.ge_u (local.get $i) (i32.and (local.get 0) (i32.const 255))))
        (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $s))
  (export "mem" (memory $m)))"#,
    ),
    (
        "tail-calls",
        r#"(module
  (type $r2 (func (param i64) (result i64 i64)))
  (table 2 funcref)
  (elem (i32.const 0) $two $count)
  (func $two (type $r2) (local.get 0) (i64.add (local.get 0) (i64.const 1)))
  (func $count (param i64) (result i64 i64)
    (local.set 0 (i64.and (local.get 0) (i64.const 1023)))
    (if (result i64 i64) (i64.eqz (local.get 0))
      (then (i64.const 0) (i64.const 0))
      (else (return_call $count (i64.sub (local.get 0) (i64.const 1))))))
  (func (export "loop") (param i64) (result i64 i64)
    (return_call $count (i64.and (local.get 0) (i64.const 1023))))
  (func (export "pair") (param i64) (result i64 i64)
    (return_call $two (local.get 0)))
  (func (export "indirect") (param i64 i32) (result i64 i64)
    (return_call_indirect (type $r2) (local.get 0) (local.get 1)))
  (func (export "fac") (param i64) (result i64)
    (call $fac_acc (i64.and (local.get 0) (i64.const 15)) (i64.const 1)))
  (func $fac_acc (param i64 i64) (result i64)
    (local.set 0 (i64.and (local.get 0) (i64.const 31)))
    (if (result i64) (i64.le_u (local.get 0) (i64.const 1))
      (then (local.get 1))
      (else (return_call $fac_acc (i64.sub (local.get 0) (i64.const 1))
                                  (i64.mul (local.get 0) (local.get 1)))))))"#,
    ),
    (
        "control-and-numerics",
        r#"(module
  (func $fib (param i32) (result i32)
    (local.set 0 (i32.and (local.get 0) (i32.const 15)))
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "fib_small") (param i32) (result i32) (call $fib (i32.and (local.get 0) (i32.const 15))))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "rem") (param i64 i64) (result i64) (i64.rem_u (local.get 0) (local.get 1)))
  (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
  (func (export "sat") (param f32) (result i64) (i64.trunc_sat_f32_u (local.get 0)))
  (func (export "sel") (param i32 i32 i32) (result i32)
    (select (local.get 0) (local.get 1) (i32.eqz (local.get 2))))
  (func (export "switch") (param i32) (result i32)
    (block $d (block $c (block $b (block $a
      (br_table $a $b $c $d (local.get 0)))
      (return (i32.const 10)))
      (return (i32.const 20)))
      (return (i32.const 30)))
    (i32.const 40))
  (func (export "multi") (param i32) (result i32 i64 f32)
    (local.get 0) (i64.extend_i32_s (local.get 0)) (f32.convert_i32_s (local.get 0)))
  (func (export "bits") (param i64) (result i64)
    (i64.add (i64.popcnt (local.get 0))
      (i64.add (i64.clz (local.get 0)) (i64.rotl (local.get 0) (i64.const 13)))))
  (func (export "floats") (param f64 f64) (result f64)
    (f64.copysign (f64.sqrt (f64.abs (local.get 0))) (f64.min (local.get 0) (local.get 1))))
  (func (export "ext") (param i32) (result i64) (i64.extend8_s (i64.extend_i32_u (local.get 0))))
  (func (export "unreachable") (unreachable))
  (func $deep (param i32) (result i32) (i32.add (i32.const 1) (call $deep (local.get 0))))
  (func (export "deep") (param i32) (result i32) (call $deep (local.get 0))))"#,
    ),
    (
        "imports-and-start",
        r#"(module
  (import "env" "f" (func $f (param i32) (result i32)))
  (import "env" "mem" (memory 1))
  (import "env" "tab" (table 4 funcref))
  (import "env" "gf" (global f64))
  (global $started (mut i32) (i32.const 0))
  (elem (i32.const 1) $g)
  (data (i32.const 0) "\01\02\03\04")
  (func $g (param i32) (result i32) (call $f (local.get 0)))
  (func $start (global.set $started (i32.const 1)))
  (start $start)
  (func (export "started") (result i32) (global.get $started))
  (func (export "via") (param i32) (result i32)
    (call_indirect (param i32) (result i32) (local.get 0) (i32.const 1)))
  (func (export "peek") (result i32) (i32.load (i32.const 0))))"#,
    ),
];

/// The hand-written seeds as Wasm binaries.
pub fn wat_modules() -> Vec<(String, Vec<u8>)> {
    WAT.iter()
        .map(|(name, text)| (name.to_string(), wat(text)))
        .collect()
}

/// Parses a module in the text format (panics on a bad seed: it is a bug of this crate).
pub fn wat(text: &str) -> Vec<u8> {
    let buf = wast::parser::ParseBuffer::new(text).expect("seed lexes");
    let mut module = wast::parser::parse::<wast::Wat>(&buf).expect("seed parses");
    module.encode().expect("seed encodes")
}

/// wasm-smith's configuration for the translator's feature set: Wasm 2.0 without SIMD, plus
/// tail calls and extended constant expressions; canonical NaNs; bounded memories and tables;
/// no imports; everything exported (so the differential oracle compares all state).
pub fn supported_config() -> wasm_smith::Config {
    wasm_smith::Config {
        simd_enabled: false,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        gc_enabled: false,
        exceptions_enabled: false,
        memory64_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: false,
        custom_descriptors_enabled: false,
        compact_imports_enabled: false,
        tail_call_enabled: true,
        extended_const_enabled: true,
        reference_types_enabled: true,
        bulk_memory_enabled: true,
        multi_value_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        canonicalize_nans: true,
        export_everything: true,
        max_imports: 0,
        // Functions need a type; without a minimum, wasm-smith often makes neither.
        min_types: 1,
        min_funcs: 2,
        max_funcs: 20,
        max_instructions: 200,
        max_memories: 1,
        max_memory32_bytes: 4 << 20,
        memory_max_size_required: true,
        max_tables: 3,
        max_table_elements: 1000,
        table_max_size_required: true,
        max_data_segments: 10,
        max_element_segments: 10,
        max_elements: 50,
        max_globals: 20,
        ..wasm_smith::Config::default()
    }
}

/// The fuel `ensure_termination` gives each instance: every loop iteration and call costs one.
pub const TERMINATION_FUEL: u32 = 5000;

/// A wasm-smith module in the supported feature set, from `seed`, that terminates (every loop
/// and call consumes fuel from a global). `None` when wasm-smith gives up on its input.
pub fn supported_module(seed: u64) -> Option<Vec<u8>> {
    supported_module_with(seed, true)
}

/// [`supported_module`], with or without reference types. Without them (no externref) the
/// workspace's wasmtime, built without its `gc` feature, can run every module, so every
/// divergence can be decided.
pub fn supported_module_with(seed: u64, reference_types: bool) -> Option<Vec<u8>> {
    let mut rng = Rng::new(seed);
    let len = 4096 + rng.index(32 * 1024);
    let data = rng.bytes(len);
    let mut u = Unstructured::new(&data);
    let config = wasm_smith::Config {
        reference_types_enabled: reference_types,
        max_tables: if reference_types { 3 } else { 1 },
        ..supported_config()
    };
    let mut module = wasm_smith::Module::new(config, &mut u).ok()?;
    module.ensure_termination(TERMINATION_FUEL).ok()?;
    Some(module.to_bytes())
}

/// A wasm-smith module with wasm-smith's own arbitrary configuration (any proposal), for the
/// translator oracle: most use features the translator does not accept.
pub fn any_module(seed: u64) -> Option<Vec<u8>> {
    let mut rng = Rng::new(seed);
    let len = 1024 + rng.index(8 * 1024);
    let data = rng.bytes(len);
    let mut u = Unstructured::new(&data);
    let config: wasm_smith::Config = u.arbitrary().ok()?;
    let module = wasm_smith::Module::new(config, &mut u).ok()?;
    Some(module.to_bytes())
}

/// Translated seed images: the hand-written seeds, `smith` wasm-smith modules, and `extra`
/// modules (e.g. from the command line). Modules the translator refuses are left out.
pub fn seed_images(smith: usize, seed: u64, extra: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let mut modules = wat_modules();
    let mut i = 0;
    while modules.len() < WAT.len() + smith && i < 10 * smith as u64 + 10 {
        if let Some(wasm) = supported_module(Rng::derive(seed ^ 0x5eed, i)) {
            modules.push((format!("smith-{i}"), wasm));
        }
        i += 1;
    }
    modules.extend(extra.iter().cloned());
    modules
        .into_iter()
        .filter_map(|(name, wasm)| {
            let image = chiwawa_translator::translate(&wasm, &Default::default()).ok()?;
            Some((name, image))
        })
        .collect()
}
