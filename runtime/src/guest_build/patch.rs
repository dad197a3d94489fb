//! Rewrites the core module `go build -buildmode=c-shared` produced so that the component
//! model can call into it without running Go code at the wrong time
//! (`docs/handlers.md`, "Why the Go build patches the module"):
//!
//! * `cabi_realloc` (used by the host to pass the event's strings and `config-get` answers) and
//!   `cabi_realloc_adapter` (used by the WASI adapter for its state) are added as raw-wasm bump
//!   allocators over the two static arenas of the Go SDK (`guest-sdk/go/arena.go`), found in the
//!   data section by their descriptors' magic words. No Go code runs inside them, so the Go
//!   runtime is never entered from the host's allocation or from the adapter during runtime init.
//! * A request that does not fit traps in a function named `aviary_argument_arena_full_<size>`
//!   (or `aviary_adapter_arena_full_<size>`), which the sandbox reports as such.
//! * Function imports from the module `aviary:build` are replaced by defined functions: `abort`
//!   becomes `unreachable`, which the SDK calls after logging a panic's message.

use std::borrow::Cow;

use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasm_encoder::{
    CodeSection, ExportKind, ExportSection, Function, FunctionSection, ImportSection,
    Instruction as I, MemArg, NameMap, NameSection, TypeSection, ValType,
};
use wasmparser::{KnownCustom, Name, Operator, Parser, Payload, TypeRef};

pub use crate::guest_abi::{
    ADAPTER_ARENA_FULL, ADAPTER_ARENA_MAGIC, ARG_ARENA_FULL, ARG_ARENA_MAGIC, BUILD_IMPORT_MODULE,
};

// Descriptor layout (little-endian u32 words): magic (16 bytes), size, bump offset, needed
// offset of the last refused request, unused, arena address (low 4 bytes of a pointer).
const DESC_SIZE: u32 = 16;
const DESC_POS: u32 = 20;
const DESC_NEED: u32 = 24;
const DESC_BASE: u32 = 32;

/// A static arena found in the module's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arena {
    /// Address of the descriptor.
    pub desc: u32,
    /// Address of the arena.
    pub base: u32,
    /// Size in bytes.
    pub size: u32,
}

/// What the rewrite did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patched {
    pub module: Vec<u8>,
    pub arg_arena: Arena,
    pub adapter_arena: Arena,
    /// The `aviary:build` imports that were replaced.
    pub replaced_imports: Vec<String>,
}

/// Why a module could not be rewritten.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    #[error("not a valid core WebAssembly module: {0}")]
    Parse(#[from] wasmparser::BinaryReaderError),
    #[error("{0}")]
    Invalid(String),
    #[error("cannot re-encode the module: {0}")]
    Reencode(String),
}

impl From<ReencodeError<PatchError>> for PatchError {
    fn from(e: ReencodeError<PatchError>) -> Self {
        match e {
            ReencodeError::UserError(e) => e,
            other => PatchError::Reencode(other.to_string()),
        }
    }
}

/// An active data segment of memory 0.
struct Segment<'a> {
    offset: u32,
    data: &'a [u8],
}

/// What a first pass over the module learned.
struct Scan<'a> {
    types: u32,
    func_imports: u32,
    defined_funcs: u32,
    /// (function index, import name, type index) of the `aviary:build` imports.
    build_imports: Vec<(u32, String, u32)>,
    exports: Vec<String>,
    segments: Vec<Segment<'a>>,
    memories: u32,
}

fn scan(module: &[u8]) -> Result<Scan<'_>, PatchError> {
    let mut s = Scan {
        types: 0,
        func_imports: 0,
        defined_funcs: 0,
        build_imports: Vec::new(),
        exports: Vec::new(),
        segments: Vec::new(),
        memories: 0,
    };
    for payload in Parser::new(0).parse_all(module) {
        match payload? {
            Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Module => {
                return Err(PatchError::Invalid(
                    "this is a component, not a core module".into(),
                ));
            }
            Payload::TypeSection(r) => {
                for group in r {
                    s.types += group?.types().len() as u32;
                }
            }
            Payload::ImportSection(r) => {
                for import in r.into_imports() {
                    let import = import?;
                    match import.ty {
                        TypeRef::Func(ty) => {
                            if import.module == BUILD_IMPORT_MODULE {
                                s.build_imports
                                    .push((s.func_imports, import.name.to_string(), ty));
                            }
                            s.func_imports += 1;
                        }
                        TypeRef::Memory(_) => s.memories += 1,
                        _ => {}
                    }
                }
            }
            Payload::FunctionSection(r) => s.defined_funcs += r.count(),
            Payload::MemorySection(r) => s.memories += r.count(),
            Payload::ExportSection(r) => {
                for e in r {
                    s.exports.push(e?.name.to_string());
                }
            }
            Payload::DataSection(r) => {
                for d in r {
                    let d = d?;
                    if let wasmparser::DataKind::Active {
                        memory_index: 0,
                        offset_expr,
                    } = d.kind
                    {
                        let mut ops = offset_expr.get_operators_reader();
                        if let Operator::I32Const { value } = ops.read()? {
                            s.segments.push(Segment {
                                offset: value as u32,
                                data: d.data,
                            });
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(s)
}

/// Reads the little-endian u32 at `addr` of the initial memory (bytes no segment covers are 0).
fn read_u32(segments: &[Segment<'_>], addr: u32) -> u32 {
    let mut bytes = [0u8; 4];
    for (i, b) in bytes.iter_mut().enumerate() {
        let a = addr as u64 + i as u64;
        for seg in segments {
            let start = seg.offset as u64;
            if a >= start && a < start + seg.data.len() as u64 {
                *b = seg.data[(a - start) as usize];
            }
        }
    }
    u32::from_le_bytes(bytes)
}

/// Finds the arena whose descriptor starts with `magic`.
#[cfg(test)]
pub fn find_arena(module: &[u8], magic: &[u8; 16]) -> Result<Arena, PatchError> {
    find_in(&scan(module)?.segments, magic)
}

fn find_in(segments: &[Segment<'_>], magic: &[u8; 16]) -> Result<Arena, PatchError> {
    let label = String::from_utf8_lossy(magic);
    let mut found = Vec::new();
    for seg in segments {
        let mut from = 0;
        while let Some(i) = seg.data[from..]
            .windows(magic.len())
            .position(|w| w == magic)
        {
            found.push(seg.offset + (from + i) as u32);
            from += i + 1;
        }
    }
    let desc = match found.as_slice() {
        [one] => *one,
        [] => {
            return Err(PatchError::Invalid(format!(
                "no arena descriptor `{label}` in the module's data: is the Aviary Go SDK \
                 (aviary.local/aviary) imported by package main and called (aviary.Handle)?"
            )))
        }
        _ => {
            return Err(PatchError::Invalid(format!(
            "the arena descriptor `{label}` occurs {} times in the module's data; expected once",
            found.len()
        )))
        }
    };
    let size = read_u32(segments, desc + DESC_SIZE);
    let base = read_u32(segments, desc + DESC_BASE);
    if size == 0 || base == 0 || base & 7 != 0 || base.checked_add(size).is_none() {
        return Err(PatchError::Invalid(format!(
            "the arena descriptor `{label}` at {desc:#x} is not usable (address {base:#x}, size {size})"
        )));
    }
    Ok(Arena { desc, base, size })
}

/// Rewrites the module: see the module documentation.
pub fn patch_core(module: &[u8]) -> Result<Patched, PatchError> {
    let s = scan(module)?;
    if s.memories != 1 {
        return Err(PatchError::Invalid(format!(
            "expected exactly one linear memory, found {}",
            s.memories
        )));
    }
    for name in ["cabi_realloc", "cabi_realloc_adapter"] {
        if s.exports.iter().any(|e| e == name) {
            return Err(PatchError::Invalid(format!(
                "the module already exports `{name}`; the Go SDK's arenas and the build's \
                 allocator would conflict (was it patched twice?)"
            )));
        }
    }
    if !s.exports.iter().any(|e| e == "handle") {
        return Err(PatchError::Invalid(
            "the module does not export `handle`: import the Aviary Go SDK (aviary.local/aviary) \
             in package main and register the handler with aviary.Handle in an init function"
                .into(),
        ));
    }
    for (_, name, _) in &s.build_imports {
        if name != "abort" {
            return Err(PatchError::Invalid(format!(
                "unknown build import `{BUILD_IMPORT_MODULE}.{name}` (this build knows `abort`)"
            )));
        }
    }
    let arg_arena = find_in(&s.segments, ARG_ARENA_MAGIC)?;
    let adapter_arena = find_in(&s.segments, ADAPTER_ARENA_MAGIC)?;

    let removed: Vec<u32> = s.build_imports.iter().map(|(i, _, _)| *i).collect();
    let kept_imports = s.func_imports - removed.len() as u32;
    let first_new = kept_imports + s.defined_funcs;
    let mut p = Patcher {
        removed: removed.clone(),
        removed_types: s.build_imports.iter().map(|(_, _, t)| *t).collect(),
        func_imports: s.func_imports,
        ty_realloc: s.types,
        ty_void: s.types + 1,
        first_new,
        arg_arena,
        adapter_arena,
        saw_names: false,
    };
    let mut out = wasm_encoder::Module::new();
    p.parse_core_module(&mut out, Parser::new(0), module)?;
    let module = out.finish();
    wasmparser::Validator::new()
        .validate_all(&module)
        .map_err(|e| PatchError::Invalid(format!("the rewritten module does not validate: {e}")))?;
    Ok(Patched {
        module,
        arg_arena,
        adapter_arena,
        replaced_imports: s.build_imports.into_iter().map(|(_, n, _)| n).collect(),
    })
}

struct Patcher {
    /// Old indices of the removed imports (ascending).
    removed: Vec<u32>,
    removed_types: Vec<u32>,
    func_imports: u32,
    ty_realloc: u32,
    ty_void: u32,
    /// New index of the first added function. Added, in order: one replacement per removed
    /// import, `cabi_realloc`, `cabi_realloc_adapter`, the two arena-full traps.
    first_new: u32,
    arg_arena: Arena,
    adapter_arena: Arena,
    saw_names: bool,
}

impl Patcher {
    fn idx_realloc(&self) -> u32 {
        self.first_new + self.removed.len() as u32
    }
    fn idx_realloc_adapter(&self) -> u32 {
        self.idx_realloc() + 1
    }
    fn idx_arg_full(&self) -> u32 {
        self.idx_realloc() + 2
    }
    fn idx_adapter_full(&self) -> u32 {
        self.idx_realloc() + 3
    }

    fn remap(&self, old: u32) -> u32 {
        if old < self.func_imports {
            if let Some(k) = self.removed.iter().position(|r| *r == old) {
                return self.first_new + k as u32;
            }
            old - self.removed.iter().filter(|r| **r < old).count() as u32
        } else {
            old - self.removed.len() as u32
        }
    }

    fn new_names(&self) -> Vec<(u32, String)> {
        let mut names: Vec<(u32, String)> = (0..self.removed.len() as u32)
            .map(|k| (self.first_new + k, "aviary_guest_abort".to_string()))
            .collect();
        names.push((self.idx_realloc(), "cabi_realloc".into()));
        names.push((self.idx_realloc_adapter(), "cabi_realloc_adapter".into()));
        names.push((
            self.idx_arg_full(),
            format!("{ARG_ARENA_FULL}{}", self.arg_arena.size),
        ));
        names.push((
            self.idx_adapter_full(),
            format!("{ADAPTER_ARENA_FULL}{}", self.adapter_arena.size),
        ));
        names
    }

    fn name_section(&self, functions: Vec<(u32, String)>) -> NameSection {
        let mut functions = functions;
        functions.sort_by_key(|(i, _)| *i);
        let mut map = NameMap::new();
        for (i, n) in &functions {
            map.append(*i, n);
        }
        let mut names = NameSection::new();
        names.functions(&map);
        names
    }
}

/// `cabi_realloc(old_ptr, old_size, align, new_size) -> ptr`: bump allocation in `arena`,
/// `full` called (it traps) when the request does not fit.
fn bump_allocator(arena: Arena, full: u32) -> Function {
    let (old_ptr, old_size, align, new_size, start, end) = (0, 1, 2, 3, 4, 5);
    let at = |off: u32| MemArg {
        offset: (arena.desc + off) as u64,
        align: 2,
        memory_index: 0,
    };
    let base = arena.base as i32;
    let limit = arena.base as i64 + arena.size as i64;
    let mut f = Function::new([(1, ValType::I32), (1, ValType::I64)]);
    // start = (base + pos + align - 1) & -align
    f.instruction(&I::I32Const(0))
        .instruction(&I::I32Load(at(DESC_POS)))
        .instruction(&I::I32Const(base))
        .instruction(&I::I32Add)
        .instruction(&I::LocalGet(align))
        .instruction(&I::I32Add)
        .instruction(&I::I32Const(1))
        .instruction(&I::I32Sub)
        .instruction(&I::I32Const(0))
        .instruction(&I::LocalGet(align))
        .instruction(&I::I32Sub)
        .instruction(&I::I32And)
        .instruction(&I::LocalSet(start));
    // end = start + new_size, in 64 bits (no wrap-around)
    f.instruction(&I::LocalGet(start))
        .instruction(&I::I64ExtendI32U)
        .instruction(&I::LocalGet(new_size))
        .instruction(&I::I64ExtendI32U)
        .instruction(&I::I64Add)
        .instruction(&I::LocalTee(end))
        .instruction(&I::I64Const(limit))
        .instruction(&I::I64GtU)
        .instruction(&I::If(wasm_encoder::BlockType::Empty))
        // need = end - base (saturated to u32), then trap in the named function
        .instruction(&I::I32Const(0))
        .instruction(&I::LocalGet(end))
        .instruction(&I::I64Const(base as u32 as i64))
        .instruction(&I::I64Sub)
        .instruction(&I::I64Const(u32::MAX as i64))
        .instruction(&I::LocalGet(end))
        .instruction(&I::I64Const(base as u32 as i64))
        .instruction(&I::I64Sub)
        .instruction(&I::I64Const(u32::MAX as i64))
        .instruction(&I::I64LtU)
        .instruction(&I::Select)
        .instruction(&I::I32WrapI64)
        .instruction(&I::I32Store(at(DESC_NEED)))
        .instruction(&I::Call(full))
        .instruction(&I::Unreachable)
        .instruction(&I::End);
    // pos = end - base
    f.instruction(&I::I32Const(0))
        .instruction(&I::LocalGet(end))
        .instruction(&I::I32WrapI64)
        .instruction(&I::I32Const(base))
        .instruction(&I::I32Sub)
        .instruction(&I::I32Store(at(DESC_POS)));
    // a real realloc keeps the old contents
    f.instruction(&I::LocalGet(old_ptr))
        .instruction(&I::If(wasm_encoder::BlockType::Empty))
        .instruction(&I::LocalGet(start))
        .instruction(&I::LocalGet(old_ptr))
        .instruction(&I::LocalGet(old_size))
        .instruction(&I::LocalGet(new_size))
        .instruction(&I::LocalGet(old_size))
        .instruction(&I::LocalGet(new_size))
        .instruction(&I::I32LtU)
        .instruction(&I::Select)
        .instruction(&I::MemoryCopy {
            src_mem: 0,
            dst_mem: 0,
        })
        .instruction(&I::End);
    f.instruction(&I::LocalGet(start)).instruction(&I::End);
    f
}

fn trap_function() -> Function {
    let mut f = Function::new([]);
    f.instruction(&I::Unreachable).instruction(&I::End);
    f
}

impl Reencode for Patcher {
    type Error = PatchError;

    fn function_index(&mut self, func: u32) -> Result<u32, ReencodeError<PatchError>> {
        Ok(self.remap(func))
    }

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), ReencodeError<PatchError>> {
        wasm_encoder::reencode::utils::parse_type_section(self, types, section)?;
        types.ty().function(
            [ValType::I32, ValType::I32, ValType::I32, ValType::I32],
            [ValType::I32],
        );
        types.ty().function([], []);
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), ReencodeError<PatchError>> {
        for import in section.into_imports() {
            let import = import?;
            if import.module == BUILD_IMPORT_MODULE && matches!(import.ty, TypeRef::Func(_)) {
                continue;
            }
            let ty = self.entity_type(import.ty)?;
            imports.import(import.module, import.name, ty);
        }
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), ReencodeError<PatchError>> {
        wasm_encoder::reencode::utils::parse_function_section(self, functions, section)?;
        for ty in self.removed_types.clone() {
            functions.function(ty);
        }
        functions.function(self.ty_realloc);
        functions.function(self.ty_realloc);
        functions.function(self.ty_void);
        functions.function(self.ty_void);
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), ReencodeError<PatchError>> {
        wasm_encoder::reencode::utils::parse_export_section(self, exports, section)?;
        exports.export("cabi_realloc", ExportKind::Func, self.idx_realloc());
        exports.export(
            "cabi_realloc_adapter",
            ExportKind::Func,
            self.idx_realloc_adapter(),
        );
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), ReencodeError<PatchError>> {
        wasm_encoder::reencode::utils::parse_code_section(self, code, section)?;
        for _ in &self.removed {
            code.function(&trap_function());
        }
        code.function(&bump_allocator(self.arg_arena, self.idx_arg_full()));
        code.function(&bump_allocator(self.adapter_arena, self.idx_adapter_full()));
        code.function(&trap_function());
        code.function(&trap_function());
        Ok(())
    }

    fn parse_custom_section(
        &mut self,
        module: &mut wasm_encoder::Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), ReencodeError<PatchError>> {
        let KnownCustom::Name(reader) = section.as_known() else {
            let raw = wasm_encoder::CustomSection {
                name: Cow::Borrowed(section.name()),
                data: Cow::Borrowed(section.data()),
            };
            module.section(&raw);
            return Ok(());
        };
        self.saw_names = true;
        let mut functions = Vec::new();
        let mut rest = NameSection::new();
        let mut module_name = None;
        for sub in reader {
            match sub? {
                Name::Function(map) => {
                    for naming in map {
                        let naming = naming?;
                        if self.removed.contains(&naming.index) {
                            continue;
                        }
                        functions.push((self.remap(naming.index), naming.name.to_string()));
                    }
                }
                Name::Module { name, .. } => module_name = Some(name.to_string()),
                other => self.parse_custom_name_subsection(&mut rest, other)?,
            }
        }
        functions.extend(self.new_names());
        let mut names = NameSection::new();
        if let Some(m) = module_name {
            names.module(&m);
        }
        let fns = self.name_section(functions);
        // Subsections must come in id order: module (0), function (1), then the rest (≥ 2).
        let mut data = Vec::new();
        append_subsections(&mut data, &names);
        append_subsections(&mut data, &fns);
        append_subsections(&mut data, &rest);
        module.section(&wasm_encoder::CustomSection {
            name: Cow::Borrowed("name"),
            data: Cow::Owned(data),
        });
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        _after: Option<wasm_encoder::SectionId>,
        before: Option<wasm_encoder::SectionId>,
    ) -> Result<(), ReencodeError<PatchError>> {
        if before.is_none() && !self.saw_names {
            self.saw_names = true;
            module.section(&self.name_section(self.new_names()));
        }
        Ok(())
    }
}

/// The subsections of an encoded name section (its payload without the custom-section header).
fn append_subsections(out: &mut Vec<u8>, names: &NameSection) {
    out.extend_from_slice(&names.as_custom().data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_encoder::{
        ConstExpr, DataSection, EntityType, MemorySection, MemoryType, Module, NameSection,
    };
    use wasmtime::{Engine, Instance, Store, Trap, WasmBacktrace};

    const ARG_BASE: u32 = 0x1_0000;
    const ARG_SIZE: u32 = 256;
    const ADP_BASE: u32 = 0x2_0000;
    const ADP_SIZE: u32 = 1024;

    fn descriptor(magic: &[u8; 16], base: u32, size: u32) -> Vec<u8> {
        let mut d = magic.to_vec();
        d.extend_from_slice(&size.to_le_bytes()); // 16 size
        d.extend_from_slice(&[0; 12]); // 20 pos, 24 need, 28 unused
        d.extend_from_slice(&(base as u64).to_le_bytes()); // 32 base (a Go pointer: 8 bytes)
        d
    }

    /// A module shaped like Go's output: an import from `aviary:build`, another import, a
    /// function calling both, `handle` and `run_abort` exports, the descriptors in data, names.
    fn module() -> Vec<u8> {
        let mut m = Module::new();
        let mut types = TypeSection::new();
        types.ty().function([], []); // 0
        types.ty().function([ValType::I32], [ValType::I32]); // 1
        m.section(&types);
        let mut imports = ImportSection::new();
        imports.import("env", "ext", EntityType::Function(1)); // func 0
        imports.import(BUILD_IMPORT_MODULE, "abort", EntityType::Function(0)); // func 1
        m.section(&imports);
        let mut funcs = FunctionSection::new();
        funcs.function(1); // func 2: handle(x) = ext(x) + 1
        funcs.function(0); // func 3: run_abort() = abort()
        m.section(&funcs);
        let mut mems = MemorySection::new();
        mems.memory(MemoryType {
            minimum: 4,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        m.section(&mems);
        let mut exports = ExportSection::new();
        exports.export("memory", ExportKind::Memory, 0);
        exports.export("handle", ExportKind::Func, 2);
        exports.export("run_abort", ExportKind::Func, 3);
        m.section(&exports);
        let mut code = CodeSection::new();
        let mut f = Function::new([]);
        f.instruction(&I::LocalGet(0))
            .instruction(&I::Call(0))
            .instruction(&I::I32Const(1))
            .instruction(&I::I32Add)
            .instruction(&I::End);
        code.function(&f);
        let mut f = Function::new([]);
        f.instruction(&I::Call(1)).instruction(&I::End);
        code.function(&f);
        m.section(&code);
        let mut data = DataSection::new();
        data.active(
            0,
            &ConstExpr::i32_const(0x100),
            descriptor(ARG_ARENA_MAGIC, ARG_BASE, ARG_SIZE),
        );
        data.active(
            0,
            &ConstExpr::i32_const(0x200),
            descriptor(ADAPTER_ARENA_MAGIC, ADP_BASE, ADP_SIZE),
        );
        m.section(&data);
        let mut names = NameSection::new();
        let mut fns = NameMap::new();
        fns.append(0, "env.ext");
        fns.append(1, "aviary.abort");
        fns.append(2, "main.handle");
        fns.append(3, "main.run_abort");
        names.functions(&fns);
        m.section(&names);
        m.finish()
    }

    fn instantiate(bytes: &[u8]) -> (Store<()>, Instance) {
        let engine = Engine::default();
        let module = wasmtime::Module::new(&engine, bytes).unwrap();
        let mut store = Store::new(&engine, ());
        let ext = wasmtime::Func::wrap(&mut store, |x: i32| x * 10);
        let instance = Instance::new(&mut store, &module, &[ext.into()]).unwrap();
        (store, instance)
    }

    fn realloc(
        store: &mut Store<()>,
        i: &Instance,
        name: &str,
        args: (i32, i32, i32, i32),
    ) -> wasmtime::Result<i32> {
        i.get_typed_func::<(i32, i32, i32, i32), i32>(&mut *store, name)
            .unwrap()
            .call(&mut *store, args)
    }

    fn read_u32(store: &mut Store<()>, i: &Instance, addr: u32) -> u32 {
        let mem = i.get_memory(&mut *store, "memory").unwrap();
        let mut b = [0; 4];
        mem.read(&*store, addr as usize, &mut b).unwrap();
        u32::from_le_bytes(b)
    }

    #[test]
    fn finds_the_descriptors_and_rejects_missing_or_duplicate_ones() {
        let m = module();
        assert_eq!(
            find_arena(&m, ARG_ARENA_MAGIC).unwrap(),
            Arena {
                desc: 0x100,
                base: ARG_BASE,
                size: ARG_SIZE
            }
        );
        assert_eq!(find_arena(&m, ADAPTER_ARENA_MAGIC).unwrap().base, ADP_BASE);
        let err = find_arena(&m, b"NOT-THERE-MAGIC!").unwrap_err().to_string();
        assert!(err.contains("no arena descriptor"), "{err}");
        let segs = [
            Segment {
                offset: 0,
                data: ARG_ARENA_MAGIC,
            },
            Segment {
                offset: 64,
                data: ARG_ARENA_MAGIC,
            },
        ];
        let err = find_in(&segs, ARG_ARENA_MAGIC).unwrap_err().to_string();
        assert!(err.contains("2 times"), "{err}");
    }

    #[test]
    fn the_patched_module_keeps_its_code_and_renumbers_calls() {
        let p = patch_core(&module()).unwrap();
        assert_eq!(p.replaced_imports, ["abort"]);
        let (mut store, i) = instantiate(&p.module);
        let handle = i.get_typed_func::<i32, i32>(&mut store, "handle").unwrap();
        // handle still calls the host import (index 0) after the removal of import 1.
        assert_eq!(handle.call(&mut store, 4).unwrap(), 41);
    }

    #[test]
    fn the_build_abort_import_becomes_a_named_trap() {
        let p = patch_core(&module()).unwrap();
        let (mut store, i) = instantiate(&p.module);
        let run = i.get_typed_func::<(), ()>(&mut store, "run_abort").unwrap();
        let err = run.call(&mut store, ()).unwrap_err();
        assert_eq!(
            err.downcast_ref::<Trap>(),
            Some(&Trap::UnreachableCodeReached)
        );
        let bt = err.downcast_ref::<WasmBacktrace>().unwrap();
        let names: Vec<_> = bt.frames().iter().filter_map(|f| f.func_name()).collect();
        assert_eq!(names, ["aviary_guest_abort", "main.run_abort"]);
    }

    #[test]
    fn cabi_realloc_bumps_aligned_within_the_argument_arena() {
        let p = patch_core(&module()).unwrap();
        let (mut store, i) = instantiate(&p.module);
        let a = realloc(&mut store, &i, "cabi_realloc", (0, 0, 1, 3)).unwrap() as u32;
        assert_eq!(a, ARG_BASE);
        let b = realloc(&mut store, &i, "cabi_realloc", (0, 0, 8, 16)).unwrap() as u32;
        assert_eq!(b, ARG_BASE + 8, "aligned to 8");
        assert_eq!(read_u32(&mut store, &i, 0x100 + DESC_POS), 24);
        // A real realloc copies the old bytes.
        let mem = i.get_memory(&mut store, "memory").unwrap();
        mem.write(&mut store, b as usize, b"0123456789abcdef")
            .unwrap();
        let c = realloc(&mut store, &i, "cabi_realloc", (b as i32, 16, 1, 32)).unwrap() as u32;
        let mut copied = [0u8; 16];
        mem.read(&store, c as usize, &mut copied).unwrap();
        assert_eq!(&copied, b"0123456789abcdef");
        // The adapter's allocator uses its own arena.
        let d = realloc(&mut store, &i, "cabi_realloc_adapter", (0, 0, 4, 100)).unwrap() as u32;
        assert_eq!(d, ADP_BASE);
        // Resetting the bump offset (what the Go SDK does after copying) starts over.
        mem.write(&mut store, (0x100 + DESC_POS) as usize, &0u32.to_le_bytes())
            .unwrap();
        assert_eq!(
            realloc(&mut store, &i, "cabi_realloc", (0, 0, 1, 1)).unwrap() as u32,
            ARG_BASE
        );
    }

    #[test]
    fn a_request_past_the_arena_traps_in_the_named_function() {
        let p = patch_core(&module()).unwrap();
        let (mut store, i) = instantiate(&p.module);
        // Exactly the arena fits.
        assert_eq!(
            realloc(&mut store, &i, "cabi_realloc", (0, 0, 1, ARG_SIZE as i32)).unwrap() as u32,
            ARG_BASE
        );
        // One more byte does not; neither does a length that would wrap around 32 bits.
        for len in [1, -1] {
            let err = realloc(&mut store, &i, "cabi_realloc", (0, 0, 1, len)).unwrap_err();
            assert_eq!(
                err.downcast_ref::<Trap>(),
                Some(&Trap::UnreachableCodeReached)
            );
            let bt = err.downcast_ref::<WasmBacktrace>().unwrap();
            let top = bt.frames()[0].func_name().unwrap().to_string();
            assert_eq!(top, format!("{ARG_ARENA_FULL}{ARG_SIZE}"));
        }
        assert_eq!(read_u32(&mut store, &i, 0x100 + DESC_NEED), u32::MAX);
        let err = realloc(
            &mut store,
            &i,
            "cabi_realloc_adapter",
            (0, 0, 1, ADP_SIZE as i32 + 1),
        )
        .unwrap_err();
        let bt = err.downcast_ref::<WasmBacktrace>().unwrap();
        assert_eq!(
            bt.frames()[0].func_name().unwrap(),
            format!("{ADAPTER_ARENA_FULL}{ADP_SIZE}")
        );
    }

    #[test]
    fn refuses_modules_it_cannot_patch() {
        let p = patch_core(&module()).unwrap();
        let err = patch_core(&p.module).unwrap_err().to_string();
        assert!(err.contains("already exports `cabi_realloc`"), "{err}");
        let err = patch_core(b"\0asm\x0d\0\x01\0").unwrap_err().to_string();
        assert!(err.contains("component"), "{err}");
    }
}
