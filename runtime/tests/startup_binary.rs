//! Start-up through the real binary (issue 15 §4): with an empty compile cache `aviary run`
//! connects and acks while components compile, then handles the events; `aviary compile`
//! makes `aviary run` compile nothing; stale, corrupted and foreign artefacts are rebuilt with
//! a log line; a component that does not compile stops the run with its manifest line.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aviary_emulator::{DeliveryId, Emulator, EmulatorConfig};
use aviary_test_support::binary::{sigterm, Aviary, Run};
use aviary_test_support::go_guests::go_audit;
use aviary_test_support::guests::guest;
use aviary_test_support::lang_guests::{js, JsEngine};
use aviary_test_support::{card_event, envelope, eventually, message_event, Dir};
use serde_json::json;

const AVIARY: Aviary = Aviary::at(env!("CARGO_BIN_EXE_aviary"));

/// `aviary run` on `manifest`, the compile cache in `cache`, logging at info.
fn spawn_run(manifest: &Path, cache: &Path) -> Run {
    AVIARY.run_with(
        manifest,
        manifest.with_file_name("aviary.log"),
        None,
        &[
            ("RUST_LOG", "info"),
            ("XDG_CACHE_HOME", cache.to_str().unwrap()),
        ],
    )
}

/// `aviary compile -m manifest [extra…]` with the cache in `cache`: exit code, stdout, stderr.
fn compile(manifest: &Path, cache: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(AVIARY.path())
        .arg("compile")
        .arg("-m")
        .arg(manifest)
        .args(extra)
        .env("RUST_LOG", "info")
        .env("XDG_CACHE_HOME", cache)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn manifest(dir: &Dir, emu: &Emulator, handlers: &str) -> PathBuf {
    dir.write(
        "aviary.toml",
        &format!(
            "[feishu]\napp_id = \"cli_0123456789abcdef\"\napp_secret = \"emulator-secret\"\ndomain = \"{}\"\n\n\
             [queue]\npath = \"{}\"\n\n[dispatch]\ncallback_deadline_ms = 300\n\n{handlers}",
            emu.domain(),
            dir.path().join("queue.redb").display()
        ),
    )
}

fn handler(name: &str, component: &Path, events: &str, extra: &str) -> String {
    format!(
        "[[handler]]\nname = \"{name}\"\ncomponent = \"{}\"\nevents = [{events}]\n{extra}\n",
        component.display()
    )
}

async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::fast()).await.unwrap()
}

fn contact_event(id: &str) -> serde_json::Value {
    envelope(
        "contact.user.created_v3",
        id,
        json!({"object": {"open_id": format!("ou_{id}"), "name": "New Hire", "department_ids": ["od_1"]}}),
    )
}

/// The files in the cache directory `cache` (`<cache>/aviary/*.cwasm`).
fn cached_files(cache: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(cache.join("aviary"))
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until `n` of `ids` are acked; returns the time it happened.
async fn acked(emu: &Emulator, ids: &[DeliveryId], timeout: Duration) {
    eventually("the events acked", timeout, || {
        ids.iter()
            .all(|id| emu.delivery(*id).is_some_and(|d| d.acked))
    })
    .await;
}

/// Waits until `run` has printed `text`; panics with its output after `timeout`.
async fn printed(run: &Run, text: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !run.output().contains(text) {
        assert!(
            Instant::now() < deadline,
            "no `{text}` after {timeout:?}:\n{}",
            run.output()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn stop(mut run: Run) -> (Option<i32>, String) {
    let code = sigterm(&mut run);
    (code, run.output())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_cache_connects_and_acks_at_once_and_each_handler_starts_when_compiled() {
    // Built before the clock starts (the builds are cached across runs).
    let audit = go_audit(); // 4.6 MB: seconds to compile
    let card = js("tests/guests-js/guest.js", JsEngine::QuickJs); // 1.8 MB
    let fast = guest("well-behaved");
    let emu = emulator().await;
    let dir = Dir::new("startup-cold");
    let cache = dir.path().join("cache");
    let m = manifest(
        &dir,
        &emu,
        &[
            handler("fast", &fast, "\"im.message.receive_v1\"", ""),
            handler("audit", &audit, "\"contact.user.*\"", ""),
            handler("card", &card, "\"card.action.trigger\"", ""),
        ]
        .concat(),
    );
    // The admin server on a free port: /readyz says what is still compiling.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        &m,
        format!(
            "{}\n[admin]\nlisten = \"127.0.0.1:{port}\"\n",
            std::fs::read_to_string(&m).unwrap()
        ),
    )
    .unwrap();
    let readyz = || async move {
        let r = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    let started = Instant::now();
    let run = spawn_run(&m, &cache);
    emu.wait_for_connections(1, Duration::from_secs(30))
        .await
        .unwrap();
    let connected = started.elapsed();
    println!("connected {connected:?} after exec, empty cache, components compiling");

    // Events for every handler, and a card callback for one still compiling.
    let audits: Vec<DeliveryId> = (0..5)
        .map(|i| emu.push_event(&contact_event(&format!("audit-{i}"))))
        .collect();
    let messages: Vec<DeliveryId> = (0..5)
        .map(|i| {
            emu.push_event(&message_event(
                &format!("msg-{i}"),
                &format!("om_{i}"),
                "oc_1",
                "hi",
            ))
        })
        .collect();
    let callback = emu.push_event(&card_event("cb-1", json!({"action": "approve"})));
    acked(&emu, &audits, Duration::from_secs(10)).await;
    acked(&emu, &messages, Duration::from_secs(10)).await;
    // Checked now, not after the callback: its answer waits up to its 2.5 s deadline, and a
    // component may finish compiling meanwhile on a fast machine.
    let (code, body) = readyz().await;
    let out = run.output();
    assert!(
        !out.contains("handler ready handler=audit") && !out.contains("handler ready handler=card"),
        "the events were acked before the Go and JS components were ready:\n{out}"
    );
    assert_eq!(code, 503, "not ready while compiling: {body}");
    assert!(
        body.contains("compiling: ") && body.contains("audit"),
        "{body}"
    );
    let callback_ack = emu
        .wait_for_delivery(callback, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(callback_ack.acked, "{callback_ack:?}");
    // The JS handler still compiling at the callback's deadline: the documented fallback.
    let card_ready_in_time = run.output().contains("handler ready handler=card");
    let ack = emu
        .acks()
        .into_iter()
        .find(|a| a.delivery == Some(callback))
        .expect("the callback's ack");
    assert_eq!(ack.code, 200, "the fallback answer: 200 …");
    if !card_ready_in_time {
        assert!(
            ack.data
                .as_deref()
                .is_none_or(|d| !String::from_utf8_lossy(d).contains("greeting")),
            "… without the handler's answer: {:?}",
            ack.data.map(|d| String::from_utf8_lossy(&d).into_owned())
        );
    }

    // Then every handler takes its events once its component is ready.
    let deadline = Duration::from_secs(120);
    eventually("the Go handler audited the 5 events", deadline, || {
        let out = run.output();
        (0..5).all(|i| out.contains(&format!("ou_audit-{i}")))
    })
    .await;
    eventually("the Rust handler handled the 5 messages", deadline, || {
        let out = run.output();
        (0..5).all(|i| out.contains(&format!("handling msg-{i}")))
    })
    .await;
    eventually(
        "the late callback ran once its component was ready",
        deadline,
        || run.output().contains("handling cb-1"),
    )
    .await;
    let out = run.output();
    for h in ["fast", "audit", "card"] {
        assert!(out.contains(&format!("handler ready handler={h}")), "{out}");
    }
    assert_eq!(
        out.matches("compiling component").count(),
        3,
        "each component compiled once:\n{out}"
    );
    assert_eq!(cached_files(&cache).len(), 3, "and its artefact cached");
    let (code, body) = readyz().await;
    assert_eq!(code, 200, "ready once every component is: {body}");
    assert!(body.contains("3 loaded"), "{body}");
    let (code, out) = stop(run);
    assert_eq!(code, Some(0), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aviary_compile_then_run_compiles_nothing_in_the_cache_or_beside_the_component() {
    let emu = emulator().await;
    let dir = Dir::new("startup-precompiled");
    let component = dir.path().join("handler.wasm");
    std::fs::copy(guest("well-behaved"), &component).unwrap();
    let m = manifest(
        &dir,
        &emu,
        &handler("fast", &component, "\"im.message.receive_v1\"", ""),
    );

    // Into the cache: compiled once, then up to date.
    let cache = dir.path().join("cache");
    let (code, stdout, stderr) = compile(&m, &cache, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("handler.wasm: compiled in"), "{stdout}");
    assert_eq!(cached_files(&cache).len(), 1);
    let (code, stdout, _) = compile(&m, &cache, &[]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("up to date (cache)"), "{stdout}");

    let run = spawn_run(&m, &cache);
    let id = emu.push_event(&message_event("m-1", "om_1", "oc_1", "hi"));
    printed(&run, "handling m-1", Duration::from_secs(30)).await;
    let (code, out) = stop(run);
    assert_eq!(code, Some(0), "{out}");
    assert!(emu.delivery(id).unwrap().acked);
    assert!(out.contains("handler ready handler=fast"), "{out}");
    assert!(
        !out.contains("compiling component"),
        "nothing compiled:\n{out}"
    );

    // Beside the component (a container image): a run with an empty cache compiles nothing
    // and leaves its cache empty.
    let (code, stdout, stderr) = compile(&m, &cache, &["--beside"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(dir.path().join("handler.cwasm").is_file(), "{stdout}");
    let empty = dir.path().join("fresh-cache");
    let run = spawn_run(&m, &empty);
    emu.push_event(&message_event("m-2", "om_2", "oc_1", "hi"));
    printed(&run, "handling m-2", Duration::from_secs(30)).await;
    let (code, out) = stop(run);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        !out.contains("compiling component"),
        "nothing compiled:\n{out}"
    );
    assert!(cached_files(&empty).is_empty(), "the cache stayed empty");
}

/// The offset and length of the ELF section `name` in `elf` (64-bit little-endian, as
/// wasmtime writes its artefacts).
fn elf_section(elf: &[u8], name: &str) -> (usize, usize) {
    let u16_at = |o: usize| u16::from_le_bytes(elf[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    assert_eq!(&elf[..4], b"\x7fELF");
    let (shoff, shentsize, shnum, shstrndx) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let header = |i: usize| shoff + i * shentsize;
    let names = u64_at(header(shstrndx) + 0x18);
    (0..shnum)
        .map(header)
        .find(|&h| {
            let at = names + u32_at(h);
            elf[at..].starts_with(name.as_bytes()) && elf[at + name.len()] == 0
        })
        .map(|h| (u64_at(h + 0x18), u64_at(h + 0x20)))
        .unwrap_or_else(|| panic!("no section {name}"))
}

/// Changes the wasmtime version recorded in an artefact's `.wasmtime.engine` section (a
/// format byte, a length, the version) to another of the same length, and fixes the
/// artefact's checksum so that only wasmtime's own check can refuse it.
fn pretend_other_wasmtime(file: &Path) {
    use sha2::{Digest, Sha256};
    let mut bytes = std::fs::read(file).unwrap();
    let payload = 80;
    let (at, len) = elf_section(&bytes[payload..], ".wasmtime.engine");
    let version = payload + at + 2;
    let n = bytes[payload + at + 1] as usize;
    assert!(n >= 1 && 2 + n <= len, "a version string");
    assert!(bytes[version..version + n].iter().all(u8::is_ascii_digit));
    // A version this wasmtime is not: every digit shifted by one.
    for b in &mut bytes[version..version + n] {
        *b = b'0' + (*b - b'0' + 1) % 10;
    }
    let sum: [u8; 32] = Sha256::digest(&bytes[payload..]).into();
    bytes[48..80].copy_from_slice(&sum);
    std::fs::write(file, bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_corrupted_and_foreign_artefacts_are_rebuilt_with_a_log_line() {
    let emu = emulator().await;
    let dir = Dir::new("startup-foreign");
    let component = dir.path().join("handler.wasm");
    std::fs::copy(guest("well-behaved"), &component).unwrap();
    let plain = handler("fast", &component, "\"im.message.receive_v1\"", "");
    let m = manifest(&dir, &emu, &plain);
    let cache = dir.path().join("cache");
    let (code, _, stderr) = compile(&m, &cache, &["--beside"]);
    assert_eq!(code, Some(0), "{stderr}");
    let beside = dir.path().join("handler.cwasm");
    let good = std::fs::read(&beside).unwrap();

    let mut n = 0;
    let mut run_once = |expect: &str| {
        n += 1;
        let expect = expect.to_string();
        let fresh = dir.path().join(format!("cache-{n}"));
        let m = m.clone();
        let emu = &emu;
        async move {
            let run = spawn_run(&m, &fresh);
            let event = format!("e-{n}");
            emu.push_event(&message_event(&event, &format!("om_{event}"), "oc_1", "hi"));
            printed(&run, &format!("handling {event}"), Duration::from_secs(30)).await;
            let t = Instant::now();
            let (code, out) = stop(run);
            println!("stopped in {:?}", t.elapsed());
            assert_eq!(code, Some(0), "{out}");
            assert!(out.contains(&expect), "expected `{expect}`:\n{out}");
            assert_eq!(out.matches("compiling component").count(), 1, "{out}");
            assert_eq!(cached_files(&fresh).len(), 1, "rebuilt into the cache");
        }
    };

    // Corrupted: one byte of the code changed.
    let mut bytes = good.clone();
    let last = bytes.len() - 100;
    bytes[last] ^= 0xff;
    std::fs::write(&beside, &bytes).unwrap();
    run_once("compiled artefact is corrupted").await;

    // Another wasmtime version (intact for our checksum; wasmtime refuses it).
    std::fs::write(&beside, &good).unwrap();
    pretend_other_wasmtime(&beside);
    run_once("compiled artefact was made for another wasmtime version, engine settings or CPU")
        .await;
    assert!(
        std::fs::read(&beside).unwrap() != good,
        "an artefact beside the component is never rewritten by `aviary run`"
    );

    // Stale: the component changed after it was compiled (another build of the handler).
    std::fs::write(&beside, &good).unwrap();
    std::fs::copy(guest("recorder"), &component).unwrap();
    let out = {
        let fresh = dir.path().join("cache-stale");
        let run = spawn_run(&m, &fresh);
        printed(&run, "handler ready handler=fast", Duration::from_secs(30)).await;
        stop(run).1
    };
    assert!(out.contains("compiled artefact is stale"), "{out}");
    std::fs::copy(guest("well-behaved"), &component).unwrap();

    // Other engine settings: the plain engine's artefact where the fuel-metered one belongs.
    std::fs::write(dir.path().join("handler.fuel.cwasm"), &good).unwrap();
    let metered = handler(
        "fast",
        &component,
        "\"im.message.receive_v1\"",
        "fuel = 100000000",
    );
    std::fs::write(
        &m,
        std::fs::read_to_string(&m)
            .unwrap()
            .replace(&plain, &metered),
    )
    .unwrap();
    run_once("compiled artefact was made for another wasmtime version, engine settings or CPU")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_that_does_not_compile_stops_the_run_naming_its_manifest_line() {
    let emu = emulator().await;
    let dir = Dir::new("startup-broken");
    let broken = dir.path().join("broken.wasm");
    // A component header, then garbage: only compiling it finds out.
    std::fs::write(
        &broken,
        b"\0asm\x0d\0\x01\0garbage that is no component section",
    )
    .unwrap();
    let m = manifest(
        &dir,
        &emu,
        &[
            handler(
                "fast",
                &guest("well-behaved"),
                "\"im.message.receive_v1\"",
                "",
            ),
            handler("broken", &broken, "\"contact.user.*\"", ""),
        ]
        .concat(),
    );
    let mut run = spawn_run(&m, &dir.path().join("cache"));
    let code = run.wait_exit(Duration::from_secs(60)).await;
    let out = run.output();
    assert_eq!(code, Some(1), "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("an error line:\n{out}"));
    assert!(
        line.contains(&format!("{}:", m.display()))
            && line.contains(": handler.component: handler `broken`: ")
            && line.contains("broken.wasm: invalid component"),
        "{line}"
    );
}
