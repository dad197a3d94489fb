//! Tries to reach outside the sandbox and reports what it got, one `name=ok|denied` per line.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });

use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};

struct Component;

fn report<T, E>(name: &str, result: Result<T, E>) -> String {
    format!("{name}={}", if result.is_ok() { "ok" } else { "denied" })
}

impl Guest for Component {
    fn handle(_event: Event) -> Outcome {
        let env = std::env::vars().count();
        let args = std::env::args().count();
        let mut stdin = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut stdin);
        let lines = [
            report("read_passwd", std::fs::read_to_string("/etc/passwd")),
            report("read_dir_root", std::fs::read_dir("/")),
            report("read_dir_cwd", std::fs::read_dir(".")),
            report("create_file", std::fs::File::create("/tmp/aviary-escape")),
            report("tcp_connect", TcpStream::connect("127.0.0.1:80")),
            report("udp_bind", UdpSocket::bind("0.0.0.0:0")),
            report("dns_lookup", ("localhost", 80).to_socket_addrs()),
            report("env", if env == 0 { Err(()) } else { Ok(()) }),
            report("args", if args == 0 { Err(()) } else { Ok(()) }),
            report("stdin", if stdin.is_empty() { Err(()) } else { Ok(()) }),
        ];
        Outcome::Respond(lines.join("\n"))
    }
}

export!(Component);
