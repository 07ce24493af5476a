//! A Mosquitto broker of the test's own, on a free loopback port, from `assets/mosquitto.conf`
//! (as `.ci/mosquitto.sh` starts one), which a test may SIGKILL and start again on the same
//! port and persistence directory.
//!
//! The broker tests always start their own (they kill it); `WALLWATCH_TEST_MQTT`, exported by
//! `.ci/mosquitto.sh`, is not needed. Without a `mosquitto` binary they fail, saying how to
//! install it (`.ci/run` installs it): a broker test that skipped itself would prove nothing.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Mosquitto {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// Configuration lines added to the file's (`password_file …`).
    extra: String,
    /// Lines of the listener, after its `listener` line (`certfile …`).
    listener: String,
}

fn require(binary: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(binary).is_file()));
    assert!(
        found,
        "{binary} is not installed: `apt-get install -y mosquitto mosquitto-clients openssl` (or \
         run .ci/run, which does); the broker tests need a real broker (and real certificates)"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Mosquitto {
    /// Starts a broker persisting into `dir`.
    pub fn start(dir: &Path) -> Mosquitto {
        Mosquitto::start_with(dir, "")
    }

    /// Starts a broker with `extra` lines in its configuration; one with `allow_anonymous`
    /// replaces the file's.
    pub fn start_with(dir: &Path, extra: &str) -> Mosquitto {
        Mosquitto::launch(dir, extra.to_string(), String::new())
    }

    /// A broker on a free port with `extra` configuration lines and `listener` lines.
    fn launch(dir: &Path, extra: String, listener: String) -> Mosquitto {
        require("mosquitto");
        require("mosquitto_pub");
        let mut m = Mosquitto {
            port: free_port(),
            dir: dir.to_path_buf(),
            child: None,
            extra,
            listener,
        };
        m.spawn();
        m
    }

    /// Starts a broker whose one listener is TLS only, with the server certificate of `certs`
    /// (for 127.0.0.1 and localhost, signed by its CA).
    pub fn start_tls(dir: &Path, certs: &TestCerts) -> Mosquitto {
        let listener = format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n",
            certs.ca.display(),
            certs.server_cert.display(),
            certs.server_key.display()
        );
        Mosquitto::launch(dir, String::new(), listener)
    }

    /// `mqtts://127.0.0.1:PORT`, for a broker of [`Mosquitto::start_tls`].
    pub fn tls_url(&self) -> String {
        format!("mqtts://127.0.0.1:{}", self.port)
    }

    /// A password file in the broker's directory with `users` (name, password), made with
    /// `mosquitto_passwd`; its path.
    pub fn password_file(dir: &Path, users: &[(&str, &str)]) -> PathBuf {
        require("mosquitto_passwd");
        let file = dir.join("passwords");
        for (i, (user, password)) in users.iter().enumerate() {
            let mut cmd = Command::new("mosquitto_passwd");
            if i == 0 {
                cmd.arg("-c");
            }
            let status = cmd
                .arg("-b")
                .arg(&file)
                .args([user, password])
                .status()
                .expect("mosquitto_passwd runs");
            assert!(status.success(), "mosquitto_passwd failed");
        }
        file
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let base = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/mosquitto.conf"
        ))
        .expect("assets/mosquitto.conf");
        let base = if self.extra.contains("allow_anonymous") {
            base.replace("allow_anonymous true", "")
        } else {
            base
        };
        let base = format!("{base}\n{}\n", self.extra);
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let conf = self.dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "{base}\nuser {user}\npersistence_location {}/\nlistener {} 127.0.0.1\n{}",
                self.dir.display(),
                self.port,
                self.listener
            ),
        )
        .unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("broker.log"))
            .unwrap();
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("mosquitto starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not listen: {}",
                std::fs::read_to_string(self.dir.join("broker.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: the broker loses whatever it had not saved.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again, same port, same persistence.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// `mosquitto_pub` of one message (QoS 1).
    pub fn publish(&self, topic: &str, payload: &[u8]) {
        assert!(
            self.publish_with(topic, payload, &[]),
            "mosquitto_pub failed"
        );
    }

    /// `mosquitto_pub` of one message (QoS 1) with more of its options (`-u`, `-P`, `-r`);
    /// whether the broker took it.
    pub fn publish_with(&self, topic: &str, payload: &[u8], options: &[&str]) -> bool {
        let file = self.dir.join("payload.bin");
        std::fs::write(&file, payload).unwrap();
        Command::new("mosquitto_pub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-V",
                "mqttv5",
            ])
            .args(["-q", "1", "-t", topic, "-f"])
            .arg(&file)
            .args(options)
            .stderr(Stdio::null())
            .status()
            .expect("mosquitto_pub runs")
            .success()
    }

    /// The retained message of `topic`, read with `mosquitto_sub` (none within 3 s: `None`).
    pub fn retained(&self, topic: &str) -> Option<String> {
        let out = Command::new("mosquitto_sub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-V",
                "mqttv5",
            ])
            .args(["-t", topic, "-C", "1", "-W", "3", "--retained-only"])
            .output()
            .expect("mosquitto_sub runs");
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (!text.is_empty()).then_some(text)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A throwaway CA and a server certificate it signed, for 127.0.0.1 and localhost, made with the
/// `openssl` command (`.ci/run` installs it if missing) in a directory of the test's.
pub struct TestCerts {
    /// The CA's certificate (PEM), what `--broker-ca` is given.
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl TestCerts {
    /// A new CA named `name` in `dir`, and its server certificate.
    pub fn make(dir: &Path, name: &str) -> TestCerts {
        require("openssl");
        std::fs::create_dir_all(dir).unwrap();
        let at = |file: &str| dir.join(file);
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("openssl runs");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        std::fs::write(
            at("ca.cnf"),
            format!(
                "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = ca\n\
                 [dn]\nCN = {name}\n[ca]\nbasicConstraints = critical, CA:TRUE\n\
                 keyUsage = critical, keyCertSign, cRLSign\n\
                 subjectKeyIdentifier = hash\n"
            ),
        )
        .unwrap();
        std::fs::write(
            at("server.cnf"),
            "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n\
             extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1, DNS:localhost\n\
             authorityKeyIdentifier = keyid\n",
        )
        .unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            &[
                &["req", "-x509", "-config", "ca.cnf", "-days", "2"][..],
                &ec,
                &["-keyout", "ca.key", "-out", "ca.pem"],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req", "-new", "-subj", "/CN=localhost"][..],
                &ec,
                &["-keyout", "server.key", "-out", "server.csr"],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "2",
            "-days",
            "2",
            "-extfile",
            "server.cnf",
            "-out",
            "server.pem",
        ]);
        TestCerts {
            ca: at("ca.pem"),
            server_cert: at("server.pem"),
            server_key: at("server.key"),
        }
    }
}
