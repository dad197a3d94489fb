//! Components made in the test itself from a hand-written core module (wasm-encoder) and the
//! repository's WIT (wit-component), for guests no toolchain produces on request: one with two
//! linear memories, one importing an interface Aviary does not provide.

use std::path::{Path, PathBuf};

use wasm_encoder::{
    CodeSection, ConstExpr, ExportKind, ExportSection, Function, FunctionSection, GlobalSection,
    GlobalType, ImportSection, MemArg, MemorySection, MemoryType, Module, TypeSection, ValType,
};
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::Resolve;

/// Pages (64 KiB) each memory starts with.
const INITIAL_PAGES: u64 = 1;

/// What `handle` does besides returning `done`.
#[derive(Debug, Clone, Copy)]
pub struct CoreGuest {
    /// Linear memories defined (1 or 2); memory 0 is the canonical-ABI one.
    pub memories: u32,
    /// Pages `handle` grows each memory by (it traps if a grow is refused).
    pub grow_pages: u32,
    /// Import `wasi:http/outgoing-handler@0.2.6` (a function `handle: func()`).
    pub import_http: bool,
}

/// Bytes of linear memory a [`CoreGuest`] holds after one `handle` call, over all memories.
pub fn total_bytes_after_call(g: &CoreGuest) -> u64 {
    u64::from(g.memories) * (INITIAL_PAGES + u64::from(g.grow_pages)) * 65536
}

/// Builds the component and writes it to a temp file named after `name`; returns its path.
pub fn write_component(name: &str, guest: &CoreGuest) -> PathBuf {
    let bytes = component(guest);
    let dir = std::env::temp_dir().join(format!("aviary-synth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, bytes).expect("write component");
    path
}

/// The component bytes: the core module with the world's metadata, encoded by wit-component.
pub fn component(guest: &CoreGuest) -> Vec<u8> {
    let mut resolve = Resolve::default();
    let wit = aviary_test_support::repo_root()
        .join("wit")
        .join("handler.wit");
    let text = std::fs::read_to_string(&wit).expect("wit/handler.wit");
    resolve
        .push_str(&wit, &text)
        .expect("wit/handler.wit parses");
    let world_text = if guest.import_http {
        resolve
            .push_str(
                Path::new("wasi-http.wit"),
                "package wasi:http@0.2.6;\ninterface outgoing-handler { handle: func(); }\n",
            )
            .expect("wasi:http stub parses");
        "package aviary:synth@0.1.0;\nworld guest {\n  include aviary:handler/handler@0.1.0;\n  import wasi:http/outgoing-handler@0.2.6;\n}\n"
    } else {
        "package aviary:synth@0.1.0;\nworld guest {\n  include aviary:handler/handler@0.1.0;\n}\n"
    };
    let pkg = resolve
        .push_str(Path::new("synth.wit"), world_text)
        .expect("synth world parses");
    let world = resolve.select_world(&[pkg], Some("guest")).expect("world");
    let mut module = core_module(guest);
    wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)
        .expect("embed metadata");
    ComponentEncoder::default()
        .module(&module)
        .expect("core module accepted")
        .validate(true)
        .encode()
        .expect("component encodes")
}

/// `handle` (16 flat i32 parameters, the canonical ABI of `event`; returns a pointer to the
/// `outcome`), `cabi_realloc` (a bump allocator) and the memories.
fn core_module(guest: &CoreGuest) -> Vec<u8> {
    let mut types = TypeSection::new();
    types
        .ty()
        .function(vec![ValType::I32; 16], vec![ValType::I32]); // 0: handle
    types
        .ty()
        .function(vec![ValType::I32; 4], vec![ValType::I32]); // 1: cabi_realloc
    types.ty().function(vec![], vec![]); // 2: the wasi:http import

    let mut imports = ImportSection::new();
    let imported = if guest.import_http {
        imports.import(
            "wasi:http/outgoing-handler@0.2.6",
            "handle",
            wasm_encoder::EntityType::Function(2),
        );
        1
    } else {
        0
    };

    let mut functions = FunctionSection::new();
    functions.function(0);
    functions.function(1);

    let mut memories = MemorySection::new();
    for _ in 0..guest.memories {
        memories.memory(MemoryType {
            minimum: INITIAL_PAGES,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
    }

    let mut globals = GlobalSection::new();
    globals.global(
        GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        },
        &ConstExpr::i32_const(1024),
    );

    let mut exports = ExportSection::new();
    exports.export("handle", ExportKind::Func, imported);
    exports.export("cabi_realloc", ExportKind::Func, imported + 1);
    exports.export("memory", ExportKind::Memory, 0);

    let mut code = CodeSection::new();
    let mut handle = Function::new(vec![]);
    {
        let mut i = handle.instructions();
        for memory in 0..guest.memories {
            i.i32_const(guest.grow_pages as i32)
                .memory_grow(memory)
                .i32_const(-1)
                .i32_eq()
                .if_(wasm_encoder::BlockType::Empty)
                .unreachable()
                .end();
        }
        // outcome `done`: discriminant 0 at a fixed, aligned address below the heap.
        i.i32_const(16)
            .i32_const(0)
            .i32_store8(MemArg {
                offset: 0,
                align: 0,
                memory_index: 0,
            })
            .i32_const(16)
            .end();
    }
    code.function(&handle);
    let mut realloc = Function::new(vec![(1, ValType::I32)]);
    {
        // ptr = (heap + align - 1) & -align; heap = ptr + new_size; return ptr
        let mut i = realloc.instructions();
        i.global_get(0)
            .local_get(2)
            .i32_add()
            .i32_const(1)
            .i32_sub()
            .i32_const(0)
            .local_get(2)
            .i32_sub()
            .i32_and()
            .local_tee(4)
            .local_get(3)
            .i32_add()
            .global_set(0)
            .local_get(4)
            .end();
    }
    code.function(&realloc);

    let mut module = Module::new();
    module.section(&types);
    if guest.import_http {
        module.section(&imports);
    }
    module.section(&functions);
    module.section(&memories);
    module.section(&globals);
    module.section(&exports);
    module.section(&code);
    module.finish()
}
