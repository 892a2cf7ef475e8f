//! The dashboard in a real browser: headless Chromium loads the page from
//! a running broadcaster, driven over the DevTools protocol (a WebSocket,
//! so tungstenite is the client). Proves statuses render, a line appended
//! to a log shows up without a reload, and the page notices a lost server
//! and reconnects by itself.
//!
//! Fails when Chromium is not installed (tests/deps.sh installs it).

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::path::PathBuf;

use browser::{chromium, Browser};
use common::{line, Fixture, Server};
use serde_json::json;

#[test]
fn dashboard_renders_and_updates_live_in_chromium() {
    let Some(exe) = chromium() else {
        panic!("chromium is not installed (sudo make test-deps installs it)");
    };
    let fx = Fixture::new();
    fx.script("disk-usage.sh", "Disk Usage");
    fx.script("backup.sh", "Nightly Backup");
    fx.script("fresh.sh", "Fresh Install");
    fx.append("disk_usage", line("WARNING", "/ at 91%"));
    fx.append("backup", line("OK", "3 GiB in 4 min"));
    let server = Server::start(&fx);
    let url = format!("http://127.0.0.1:{}/", server.port);
    let mut b = Browser::open(&exe, &url);

    let status = |id: &str| {
        format!(
            "(document.querySelector('tr[data-service-id=\"{id}\"] td.status') || {{}}).dataset?.status || null"
        )
    };
    let message = |id: &str| {
        format!(
            "document.querySelector('tr[data-service-id=\"{id}\"] td.msg')?.textContent ?? null"
        )
    };
    b.wait_for(&status("disk_usage"), json!("WARNING"));
    b.wait_for(&status("backup"), json!("OK"));
    b.wait_for(&status("fresh"), json!("NONE"));
    assert_eq!(b.eval(&message("disk_usage")), json!("/ at 91%"));
    assert_eq!(
        b.eval("document.getElementById('conn').dataset.state"),
        json!("connected")
    );
    assert!(b
        .eval("document.title")
        .as_str()
        .unwrap()
        .contains("WARNING"));
    // Worst first.
    assert_eq!(
        b.eval("document.querySelector('#services tbody tr').dataset.serviceId"),
        json!("disk_usage")
    );

    // A line appended to a log appears without a reload.
    b.eval("window.__notReloaded = true");
    fx.append("backup", line("FAILURE", "disk full"));
    b.wait_for(&status("backup"), json!("FAILURE"));
    assert_eq!(b.eval(&message("backup")), json!("disk full"));
    assert_eq!(b.eval("window.__notReloaded === true"), json!(true));
    assert!(b
        .eval("document.title")
        .as_str()
        .unwrap()
        .contains("FAILURE"));

    // Filtering by status, by keyboard: focus the WARNING filter, press Enter.
    b.call(
        "Emulation.setFocusEmulationEnabled",
        json!({"enabled": true}),
    );
    b.eval("document.querySelector('#filters button[data-filter=\"WARNING\"]').focus()");
    assert_eq!(
        b.eval("document.activeElement.dataset.filter"),
        json!("WARNING")
    );
    b.call(
        "Input.dispatchKeyEvent",
        json!({"type": "keyDown", "key": "Enter", "code": "Enter",
            "windowsVirtualKeyCode": 13, "text": "\r"}),
    );
    b.call(
        "Input.dispatchKeyEvent",
        json!({"type": "keyUp", "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}),
    );
    b.wait_for(
        "[...document.querySelectorAll('#services tbody tr')].map(r => r.dataset.serviceId).join()",
        json!("disk_usage"),
    );
    b.eval("document.querySelector('#filters button[data-filter=\"ALL\"]').click()");
    b.wait_for(
        "document.querySelectorAll('#services tbody tr').length",
        json!(3),
    );

    // The server goes away: the page says so, then reconnects by itself.
    let port = server.port;
    drop(server);
    b.wait_for(
        "document.getElementById('conn').dataset.state",
        json!("disconnected"),
    );
    fx.append("backup", line("OK", "back again"));
    let _again = Server::start_with(&fx, &["--listen", &format!("127.0.0.1:{port}")], &[]);
    b.wait_for(&status("backup"), json!("OK"));
    b.wait_for(
        "document.getElementById('conn').dataset.state",
        json!("connected"),
    );
    assert_eq!(b.eval(&message("backup")), json!("back again"));
}

/// Writes a PNG screenshot of the page at `width`×`height` CSS pixels to
/// `target/<name>.png` and returns its path.
fn screenshot(b: &mut Browser, name: &str, width: u32, height: u32, mobile: bool) -> PathBuf {
    b.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
    );
    // Let the layout settle at the new size.
    b.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
    let shot = b.call("Page.captureScreenshot", json!({"format": "png"}));
    let png = data_encoding::BASE64
        .decode(shot["data"].as_str().unwrap().as_bytes())
        .unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    path.canonicalize().unwrap()
}

/// `n` status lines, one every 5 minutes up to a minute ago, in UTC, with
/// `status(i)` for the i-th (oldest first).
fn history_log(n: usize, status: impl Fn(usize) -> &'static str) -> String {
    let now = jiff::Timestamp::now();
    (0..n)
        .map(|i| {
            let t = now - jiff::SignedDuration::from_secs(60 + 300 * (n - 1 - i) as i64);
            format!(
                "{}, {}, run {i}\nsome output of run {i}\n",
                t.strftime("%Y-%m-%d %H:%M:%S"),
                status(i)
            )
        })
        .collect()
}

#[test]
fn dashboard_history_strip_detail_and_screenshots() {
    let Some(exe) = chromium() else {
        panic!("chromium is not installed (sudo make test-deps installs it)");
    };
    let fx = Fixture::new();
    fx.script("disk-usage.sh", "Disk Usage");
    fx.script("backup.sh", "Nightly Backup");
    fx.script("tls-expiry.sh", "TLS Certificates");
    fx.script("fresh.sh", "Fresh Install");
    // 60 lines: the strip shows the last 50. Flapping at the end.
    let pattern = |i: usize| match i {
        _ if i >= 55 => ["OK", "WARNING", "ERROR"][i % 3],
        _ if i % 17 == 5 => "FAILURE",
        _ if i % 7 == 3 => "WARNING",
        _ => "OK",
    };
    fx.append("disk_usage", history_log(60, pattern));
    fx.append(
        "backup",
        history_log(12, |i| if i == 4 { "UPDATE" } else { "OK" }),
    );
    fx.append(
        "tls_expiry",
        history_log(30, |i| if i > 25 { "WARNING" } else { "OK" }),
    );
    // systemd (the fake systemctl) dates disk_usage's last run: it wrote
    // the newest line and took 4.2 s.
    let newest = std::fs::read_to_string(fx.log("disk_usage")).unwrap();
    let newest = newest
        .lines()
        .rev()
        .find_map(|l| l.split_once(", "))
        .unwrap()
        .0;
    let start = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", newest)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
        .as_second();
    fx.unit_state(
        "ssi_disk_usage.service",
        &format!(
            "ExecMainStartTimestamp=@{start}\nExecMainExitTimestamp=@{}.2\n",
            start + 4
        ),
    );
    let env = fx.fake_systemd_env();
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("TZ", "UTC"));
    let server = Server::start_with(&fx, &[], &env);
    let url = format!("http://127.0.0.1:{}/", server.port);
    let mut b = Browser::open(&exe, &url);

    let ticks = "[...document.querySelectorAll('tr[data-service-id=\"disk_usage\"] .tick')]";
    b.wait_for(&format!("{ticks}.length"), json!(50));
    // Oldest to newest, the last 50 lines' statuses.
    let want: Vec<&str> = (10..60).map(pattern).collect();
    assert_eq!(
        b.eval(&format!("{ticks}.map(t => t.dataset.status).join()")),
        json!(want.join(","))
    );
    // Each tick has its status's colour: the one the status text has.
    let colours_match = format!(
        "{ticks}.every(t => {{ const e = document.createElement('span'); e.className = 's-' + t.dataset.status; \
         document.body.append(e); const c = getComputedStyle(e).color; e.remove(); \
         return getComputedStyle(t).backgroundColor === c; }})"
    );
    assert_eq!(b.eval(&colours_match), json!(true));
    assert_eq!(
        b.eval(&format!(
            "new Set({ticks}.map(t => getComputedStyle(t).backgroundColor)).size"
        )),
        json!(4),
        "OK, WARNING, FAILURE, ERROR: four colours"
    );
    b.wait_for(
        "document.querySelector('tr[data-service-id=\"tls_expiry\"] .avail').textContent",
        json!("86.6% / 86.6%"),
    );
    // UPDATE is as good as OK.
    assert_eq!(
        b.eval("document.querySelector('tr[data-service-id=\"backup\"] .avail').textContent"),
        json!("100% / 100%")
    );
    assert_eq!(
        b.eval("document.querySelector('tr[data-service-id=\"fresh\"] .avail').textContent"),
        json!("\u{2014} / \u{2014}")
    );
    assert!(b
        .eval("document.querySelector('tr[data-service-id=\"disk_usage\"] .next time').textContent")
        .as_str()
        .unwrap()
        .starts_with("in "));
    // The last run's duration in its row, where systemd knows it.
    b.wait_for(
        "document.querySelector('tr[data-service-id=\"disk_usage\"] .when small')?.textContent",
        json!("took 4.2 s"),
    );
    assert_eq!(
        b.eval("document.querySelector('tr[data-service-id=\"backup\"] .when small')"),
        json!(null)
    );
    assert_eq!(
        b.eval("document.getElementById('summary').textContent"),
        json!("1 failing, 1 warning, 1 ok, 1 not run yet")
    );
    // The host name in the header and the title, with the worst status.
    let mut host = [0u8; 256];
    // SAFETY: gethostname writes at most `host.len()` bytes.
    assert_eq!(
        unsafe { libc::gethostname(host.as_mut_ptr().cast(), host.len()) },
        0
    );
    let end = host.iter().position(|&c| c == 0).unwrap();
    let host = String::from_utf8_lossy(&host[..end]).into_owned();
    assert_eq!(
        b.eval("document.getElementById('host').textContent"),
        json!(format!("\u{2013} {host}"))
    );
    assert_eq!(
        b.eval("document.title"),
        json!(format!(
            "\u{2296} ERROR \u{2013} {host} \u{2013} Service Status"
        ))
    );

    // Hover over the newest tick: its time, status and message.
    let rect = b.eval(&format!(
        "(() => {{ const r = {ticks}[49].getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
    ));
    let (x, y) = (rect[0].as_f64().unwrap(), rect[1].as_f64().unwrap());
    b.call(
        "Input.dispatchMouseEvent",
        json!({"type": "mouseMoved", "x": x, "y": y}),
    );
    b.wait_for("document.getElementById('tip').hidden", json!(false));
    let tip = b.eval("document.getElementById('tip').textContent");
    assert!(
        tip.as_str().unwrap().contains("ERROR \u{2013} run 59"),
        "{tip}"
    );
    b.call(
        "Input.dispatchMouseEvent",
        json!({"type": "mouseMoved", "x": 1, "y": 1}),
    );
    b.wait_for("document.getElementById('tip').hidden", json!(true));

    // Keyboard: focus the strip, step back one with the left arrow.
    b.call(
        "Emulation.setFocusEmulationEnabled",
        json!({"enabled": true}),
    );
    b.eval("document.querySelector('tr[data-service-id=\"disk_usage\"] .strip').focus()");
    b.wait_for(
        "document.getElementById('tip').textContent.includes('run 59')",
        json!(true),
    );
    key(&mut b, "ArrowLeft", 37);
    b.wait_for(
        "document.getElementById('tip').textContent.includes('WARNING \u{2013} run 58')",
        json!(true),
    );

    // Enter on a row opens its detail: description, schedule, 50 lines.
    b.eval("document.querySelector('tr[data-service-id=\"disk_usage\"]').focus()");
    key(&mut b, "Enter", 13);
    b.wait_for("document.getElementById('detail').open", json!(true));
    let text = b.eval("document.getElementById('detail').textContent");
    let text = text.as_str().unwrap();
    assert!(text.contains("Disk Usage check"), "{text}");
    assert!(
        text.contains("every 5 minutes \u{2013} written *:0/5 (systemd: *-*-* *:00/5:00)"),
        "{text}"
    );
    assert_eq!(
        b.eval("document.querySelectorAll('#detail li').length"),
        json!(50)
    );
    assert_eq!(
        b.eval(
            "[...document.querySelectorAll('#detail dt')].find(d => d.textContent === 'Last run took')\
             .nextElementSibling.textContent"
        ),
        json!("4.2 s")
    );
    assert!(b
        .eval("document.querySelector('#detail li').textContent")
        .as_str()
        .unwrap()
        .contains("run 59"));
    assert_icons_render(&mut b);
    let detail_shot = screenshot(&mut b, "dashboard-detail-1400x800", 1400, 800, false);
    key(&mut b, "Escape", 27);
    b.wait_for("document.getElementById('detail').open", json!(false));

    // A new line moves the strip: still 50, the oldest gone, the new last.
    // Its run (the fake systemd says) took 2.7 s, which the row shows once
    // the page asks for the check's history again.
    let now = jiff::Timestamp::now().as_second();
    fx.unit_state(
        "ssi_disk_usage.service",
        &format!(
            "ExecMainStartTimestamp=@{}\nExecMainExitTimestamp=@{}.7\n",
            now - 2,
            now
        ),
    );
    b.eval("window.__notReloaded = true");
    fx.append("disk_usage", "FAILURE, disk full\n");
    b.wait_for(&format!("{ticks}[49].dataset.status"), json!("FAILURE"));
    assert_eq!(b.eval(&format!("{ticks}.length")), json!(50));
    let mut moved: Vec<&str> = (11..60).map(pattern).collect();
    moved.push("FAILURE");
    assert_eq!(
        b.eval(&format!("{ticks}.map(t => t.dataset.status).join()")),
        json!(moved.join(","))
    );
    assert!(b
        .eval(&format!("{ticks}[49].title"))
        .as_str()
        .unwrap()
        .contains("disk full"));
    assert_eq!(b.eval("window.__notReloaded === true"), json!(true));
    b.wait_for(
        "document.querySelector('tr[data-service-id=\"disk_usage\"] .when small')?.textContent",
        json!("took 2.7 s"),
    );
    assert_eq!(
        b.eval(&format!("{ticks}[49].dataset.status")),
        json!("FAILURE")
    );

    b.eval("document.activeElement.blur()");
    let wide = screenshot(&mut b, "dashboard-1400x800", 1400, 800, false);
    let phone = screenshot(&mut b, "dashboard-390x844", 390, 844, true);
    println!(
        "screenshots: {}, {}, {}",
        wide.display(),
        phone.display(),
        detail_shot.display()
    );
}

/// Every status icon of the page is drawn, not a font's glyph: an SVG
/// without text, laid out at text size, that puts ink on a canvas; the
/// ERROR one (as made, and in the table's ERROR row) is the no-entry sign (a disc with a bar cut out of its
/// middle). The window title's glyph, which can only be text, is drawn
/// by the page's fonts unlike a character no font has.
fn assert_icons_render(b: &mut Browser) {
    let icons = b.eval_async(
        r#"(async () => {
          const measure = async span => {
            const svg = span.querySelector("svg");
            const r = span.getBoundingClientRect();
            const img = new Image();
            img.src = "data:image/svg+xml," + encodeURIComponent(new XMLSerializer().serializeToString(svg));
            await img.decode();
            const c = document.createElement("canvas");
            c.width = c.height = 32;
            const g = c.getContext("2d");
            g.drawImage(img, 0, 0, 32, 32);
            const d = g.getImageData(0, 0, 32, 32).data;
            const inked = (x, y) => d[(y * 32 + x) * 4 + 3] > 128;
            let n = 0;
            for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) if (inked(x, y)) n++;
            return { text: svg.querySelector("text") !== null,
              width: r.width, height: r.height, ink: n / 1024,
              centre: inked(16, 16), above: inked(16, 6), below: inked(16, 26) };
          };
          const out = {};
          for (const key of [...ORDER, "NONE"]) {
            const span = icon(key);
            document.body.append(span);
            out[key] = await measure(span);
            span.remove();
          }
          out.row = await measure(document.querySelector('tr[data-service-id="disk_usage"] [data-icon="ERROR"]'));
          return out;
        })()"#,
    );
    for key in [
        "OK", "UPDATE", "WARNING", "UNKNOWN", "FAILURE", "ERROR", "NONE", "row",
    ] {
        let i = &icons[key];
        assert_eq!(i["text"], false, "{key}: {i}");
        assert!(i["width"].as_f64().unwrap() >= 10.0, "{key}: {i}");
        assert!(i["height"].as_f64().unwrap() >= 10.0, "{key}: {i}");
        let ink = i["ink"].as_f64().unwrap();
        assert!((0.02..0.95).contains(&ink), "{key}: {i}");
    }
    for error in [&icons["ERROR"], &icons["row"]] {
        assert_eq!(
            (&error["above"], &error["centre"], &error["below"]),
            (&json!(true), &json!(false), &json!(true)),
            "the no-entry sign: {error}"
        );
    }

    // U+0378 and U+0379 are unassigned: no font has them, so both are
    // drawn as the same missing-glyph box, and so is any character
    // missing from every font (as U+26D4 was on Debian).
    let glyphs = b.eval(
        r#"(() => {
          const draw = ch => {
            const c = document.createElement("canvas");
            c.width = c.height = 40;
            const g = c.getContext("2d");
            g.font = "28px " + getComputedStyle(document.body).fontFamily;
            g.fillText(ch, 4, 32);
            return Array.from(g.getImageData(0, 0, 40, 40).data).join();
          };
          const missing = draw("͸");
          return { consistent: missing === draw("͹"),
            title: [...document.title][0], drawn: draw([...document.title][0]) !== missing };
        })()"#,
    );
    assert_eq!(glyphs["consistent"], true, "{glyphs}");
    assert_eq!(glyphs["title"], "\u{2296}");
    assert_eq!(glyphs["drawn"], true, "the title's ERROR glyph: {glyphs}");
}

fn key(b: &mut Browser, name: &str, code: u32) {
    let text = if name == "Enter" { "\r" } else { "" };
    b.call(
        "Input.dispatchKeyEvent",
        json!({"type": "keyDown", "key": name, "code": name, "windowsVirtualKeyCode": code, "text": text}),
    );
    b.call(
        "Input.dispatchKeyEvent",
        json!({"type": "keyUp", "key": name, "code": name, "windowsVirtualKeyCode": code}),
    );
}

/// A fixture of `n` checks (`check_000`, …), each with one OK line.
fn ok_checks(n: usize) -> Fixture {
    let fx = Fixture::new();
    for i in 0..n {
        fx.script(&format!("check-{i:03}.sh"), &format!("Check {i:03}"));
        fx.append(&format!("check_{i:03}"), line("OK", "fine"));
    }
    fx
}

/// A snapshot holds one message per check: the page builds each row once
/// per change of its check, not the whole table once per message (300
/// checks made 300 rebuilds of 300 rows, freezing the page for over 30 s),
/// and a live update builds one row. A check's first status does not flash
/// its row as news; a live one does.
#[test]
fn dashboard_builds_rows_per_change_not_the_table_per_message() {
    let Some(exe) = chromium() else {
        panic!("chromium is not installed (sudo make test-deps installs it)");
    };
    const CHECKS: usize = 300;
    let fx = ok_checks(CHECKS);
    let server = Server::start(&fx);
    let url = format!("http://127.0.0.1:{}/", server.port);
    let mut b = Browser::open(&exe, &url);
    // Count the rows built (distinct <tr> put into the table) from the
    // document's first moment on.
    b.call("Page.enable", json!({}));
    b.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": "window.__rows = 0; const seen = new WeakSet(); \
            new MutationObserver(recs => { for (const r of recs) if (r.target.nodeName === 'TBODY') \
                for (const n of r.addedNodes) if (n.nodeName === 'TR' && !seen.has(n)) { seen.add(n); window.__rows++; } \
            }).observe(document, {childList: true, subtree: true});"}),
    );
    b.call("Page.reload", json!({}));
    b.wait_for("typeof window.__rows", json!("number"));
    let all_ok =
        "document.querySelectorAll('#services tbody td.status[data-status=\"OK\"]').length";
    b.wait_for(all_ok, json!(CHECKS));
    // The histories arrive after the snapshot and rebuild each row once.
    b.wait_for(
        "document.querySelectorAll('#services tbody .strip .tick').length",
        json!(CHECKS),
    );
    let built = b.eval("window.__rows").as_u64().unwrap();
    // Once without status, once with it, once with its history.
    assert!(
        built <= 3 * CHECKS as u64,
        "{built} rows built for a snapshot of {CHECKS} checks"
    );
    assert_eq!(
        b.eval("document.querySelectorAll('#services tbody tr.changed').length"),
        json!(0),
        "a snapshot's statuses are not news"
    );
    // The periodic reload of every history changes nothing here: no row
    // is rebuilt.
    b.eval("window.__rows = 0");
    b.eval_async(
        "loadHistory().then(() => new Promise(r => requestAnimationFrame(() => r(true))))",
    );
    assert_eq!(
        b.eval("window.__rows"),
        json!(0),
        "an unchanged history rebuilt rows"
    );
    fx.append("check_007", line("FAILURE", "gone"));
    let row = "document.querySelector('tr[data-service-id=\"check_007\"]')";
    b.wait_for(
        &format!("{row}.querySelector('td.status').dataset.status"),
        json!("FAILURE"),
    );
    assert_eq!(b.eval("window.__rows"), json!(1), "one update, one row");
    // Worst first: it moved to the top, and flashes.
    assert_eq!(
        b.eval("document.querySelector('#services tbody tr').dataset.serviceId"),
        json!("check_007")
    );
    assert_eq!(
        b.eval(&format!("{row}.classList.contains('changed')")),
        json!(true)
    );
    assert_eq!(
        b.eval("document.querySelectorAll('#services tbody tr.changed').length"),
        json!(1)
    );
    assert_eq!(
        b.eval("document.querySelectorAll('#services tbody tr').length"),
        json!(CHECKS)
    );
    // In order across the groups of rows the table is made of (each a
    // <tbody> skipped whole off screen): the moved row pushed one row of
    // every group along, and every group but the last is full.
    let mut want = vec!["check_007".to_string()];
    want.extend(
        (0..CHECKS)
            .filter(|&i| i != 7)
            .map(|i| format!("check_{i:03}")),
    );
    assert_eq!(
        b.eval("[...document.querySelectorAll('#services tbody tr')].map(r => r.dataset.serviceId).join()"),
        json!(want.join(","))
    );
    let sizes = b.eval("[...document.getElementById('services').tBodies].map(g => g.rows.length)");
    let sizes: Vec<u64> = sizes
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(sizes.iter().sum::<u64>(), CHECKS as u64, "{sizes:?}");
    assert!(sizes.len() > 1, "one group for {CHECKS} rows: {sizes:?}");
    assert!(
        sizes[..sizes.len() - 1].iter().all(|&n| n == sizes[0])
            && sizes[sizes.len() - 1] <= sizes[0],
        "{sizes:?}"
    );
}

/// The contrast ratio (WCAG 2) of two CSS `rgb()` colours, in the page.
const CONTRAST_JS: &str = r#"
  const lum = c => { const [r, g, b] = c.match(/[\d.]+/g).map(Number).map(v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
"#;

/// Each status's tick and text, as the page draws them in the current
/// colour scheme: `[status, tick colour, tick height, tick pattern,
/// tick contrast, text contrast]`, contrasts against the table's background.
fn status_looks(b: &mut Browser) -> Vec<serde_json::Value> {
    let v = b.eval(&format!(
        "(() => {{ {CONTRAST_JS}
          const card = getComputedStyle(document.querySelector('table')).backgroundColor;
          const strip = document.createElement('div'); strip.className = 'strip';
          document.querySelector('#services tbody td').append(strip);
          const out = ['OK', 'UPDATE', 'WARNING', 'UNKNOWN', 'FAILURE', 'ERROR', 'INVALID'].map(s => {{
            const t = document.createElement('span'); t.className = 'tick t-' + s; strip.append(t);
            const txt = document.createElement('span'); txt.className = 's-' + s; strip.append(txt);
            const ts = getComputedStyle(t), cs = getComputedStyle(txt);
            return [s, ts.backgroundColor, t.getBoundingClientRect().height, ts.backgroundImage,
              ratio(ts.backgroundColor, card), ratio(cs.color, card)];
          }});
          strip.remove();
          return out; }})()"
    ));
    v.as_array().unwrap().clone()
}

/// Issue 23, items 2, 6 and 8 on the page: a refused script is shown with
/// its problems (from the HTTP API; the WebSocket carries only the upstream
/// message types and never mentions it); a check without a status line is
/// "not run yet" with its next run; "Last update" keeps its two parts
/// apart; statuses differ by more than hue, with enough contrast, light
/// and dark; the order of each list is labelled. Saves screenshots.
#[test]
fn dashboard_refused_scripts_not_run_yet_and_statuses_apart() {
    let Some(exe) = chromium() else {
        panic!("chromium is not installed (sudo make test-deps installs it)");
    };
    let fx = Fixture::new();
    fx.script("disk-usage.sh", "Disk Usage");
    fx.script("backup.sh", "Nightly Backup");
    fx.script("fresh.sh", "Fresh Install");
    fx.script_with(
        "bad-schedule.sh",
        "# name: Bad Schedule\n# description: d\n# version: 1\n# schedule: every day\n# timout: 5\n",
    );
    let pattern = |i: usize| ["OK", "WARNING", "FAILURE", "ERROR", "UNKNOWN", "UPDATE"][i % 6];
    fx.append("disk_usage", history_log(30, pattern));
    fx.append("backup", history_log(5, |_| "OK"));
    let newest = std::fs::read_to_string(fx.log("disk_usage")).unwrap();
    let newest = newest
        .lines()
        .rev()
        .find_map(|l| l.split_once(", "))
        .unwrap()
        .0;
    let start = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", newest)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
        .as_second();
    fx.unit_state(
        "ssi_disk_usage.service",
        &format!("ExecMainStartTimestamp=@{start}\nExecMainExitTimestamp=@{start}.007\n"),
    );
    let env = fx.fake_systemd_env();
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("TZ", "UTC"));
    let server = Server::start_with(&fx, &[], &env);

    // An upstream-schema client: the known types only, the refused script
    // in none of them.
    let mut ws = server.connect();
    let (ready, statuses) = ws.snapshot(2);
    ws.assert_silent(std::time::Duration::from_millis(500));
    let ids: Vec<&str> = ready["data"]["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["backup", "disk_usage", "fresh"]);
    for m in statuses.iter().chain([&ready]) {
        let t = m["type"].as_str().unwrap();
        assert!(
            ["agent.ready", "agent.service_status_update"].contains(&t),
            "{m}"
        );
        assert!(!m.to_string().contains("bad"), "{m}");
    }

    let url = format!("http://127.0.0.1:{}/", server.port);
    let mut b = Browser::open(&exe, &url);
    let bad = "document.querySelector('#services tbody tr[data-invalid-path]')";
    b.wait_for(&format!("!!{bad}"), json!(true));
    assert_eq!(
        b.eval(&format!("{bad}.querySelector('td.status').dataset.status")),
        json!("INVALID")
    );
    let problems = b.eval(&format!("{bad}.querySelector('td.msg').textContent"));
    let problems = problems.as_str().unwrap();
    assert!(
        problems.starts_with("line 5: schedule \"every day\""),
        "{problems}"
    );
    let filters =
        b.eval("[...document.querySelectorAll('#filters button')].map(b => b.textContent)");
    let filters: Vec<&str> = filters
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(filters.contains(&"All (4)"), "{filters:?}");
    assert!(filters.contains(&"INVALID (1)"), "{filters:?}");
    assert!(filters.contains(&"Not run yet (1)"), "{filters:?}");
    let summary = b.eval("document.getElementById('summary').textContent");
    assert!(
        summary.as_str().unwrap().starts_with("1 invalid, "),
        "{summary}"
    );
    assert!(
        summary.as_str().unwrap().ends_with("1 not run yet"),
        "{summary}"
    );
    // Its detail: the file, every problem, the misspelled key's warning.
    b.eval(&format!("{bad}.click()"));
    b.wait_for("document.getElementById('detail').open", json!(true));
    let text = b.eval("document.getElementById('detail').textContent");
    let text = text.as_str().unwrap();
    assert!(text.contains("bad-schedule.sh"), "{text}");
    assert!(text.contains("line 5: schedule \"every day\""), "{text}");
    assert!(text.contains("did you mean \"timeout:\""), "{text}");
    key(&mut b, "Escape", 27);
    b.wait_for("document.getElementById('detail').open", json!(false));

    // Not run yet, with its next run.
    let fresh = "document.querySelector('tr[data-service-id=\"fresh\"]')";
    assert_eq!(
        b.eval(&format!("{fresh}.querySelector('td.status').textContent")),
        json!("not run yet")
    );
    b.wait_for(
        &format!("({fresh}.querySelector('.next time')?.textContent || '').startsWith('in ')"),
        json!(true),
    );

    // "Last update": the time and the run's duration on lines of their own,
    // the duration never split.
    let when = "document.querySelector('tr[data-service-id=\"disk_usage\"] td.when')";
    b.wait_for(
        &format!("{when}.querySelector('small')?.textContent"),
        json!("took 7 ms"),
    );
    assert_eq!(
        b.eval(&format!(
            "(() => {{ const t = {when}.querySelector('time').getBoundingClientRect(); \
             const s = {when}.querySelector('small').getBoundingClientRect(); \
             const line = parseFloat(getComputedStyle({when}.querySelector('small')).lineHeight) || 20; \
             return [s.top >= t.bottom - 1, s.height < line * 1.5]; }})()"
        )),
        json!([true, true])
    );

    // The order of each list says itself.
    assert!(b
        .eval("document.querySelector('#services thead').textContent")
        .as_str()
        .unwrap()
        .contains("oldest \u{2192} newest"));
    assert!(b
        .eval("document.querySelector('tr[data-service-id=\"disk_usage\"] .strip').getAttribute('aria-label')")
        .as_str()
        .unwrap()
        .contains("oldest first"));
    b.eval("document.querySelector('tr[data-service-id=\"disk_usage\"]').click()");
    b.wait_for("document.getElementById('detail').open", json!(true));
    assert!(b
        .eval("document.querySelector('#d-body h3').textContent")
        .as_str()
        .unwrap()
        .ends_with("newest first"));
    key(&mut b, "Escape", 27);
    b.wait_for("document.getElementById('detail').open", json!(false));

    b.eval("document.activeElement.blur()");
    let light = screenshot(&mut b, "dashboard-light-1400x800", 1400, 800, false);
    let phone = screenshot(&mut b, "dashboard-phone-390x844", 390, 844, true);
    b.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1400, "height": 800, "deviceScaleFactor": 1, "mobile": false}),
    );
    for scheme in ["light", "dark"] {
        b.call(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        );
        let looks = status_looks(&mut b);
        let look = |s: &str| looks.iter().find(|l| l[0] == s).unwrap().clone();
        for l in &looks {
            // WCAG 2.2: 3:1 for graphics (ticks), 4.5:1 for text.
            assert!(l[4].as_f64().unwrap() >= 3.0, "{scheme}: tick {l}");
            assert!(l[5].as_f64().unwrap() >= 4.5, "{scheme}: text {l}");
        }
        // Not by hue alone: the shape (height, pattern) tells them apart.
        let shape = |s: &str| {
            let l = look(s);
            (l[2].as_f64().unwrap().round() as i64, l[3].to_string())
        };
        for (a, z) in [
            ("WARNING", "FAILURE"),
            ("FAILURE", "ERROR"),
            ("OK", "WARNING"),
            ("WARNING", "UNKNOWN"),
            ("OK", "FAILURE"),
        ] {
            assert_ne!(shape(a), shape(z), "{scheme}: {a} and {z} look alike");
        }
        assert_ne!(look("WARNING")[1], look("FAILURE")[1], "{scheme}");
    }
    let dark = screenshot(&mut b, "dashboard-dark-1400x800", 1400, 800, false);
    println!(
        "screenshots: {}, {}, {}",
        light.display(),
        dark.display(),
        phone.display()
    );
}

/// The page tells when its first screen of rows shows and when every row
/// shows with its history strip, as User Timing marks (`ssi-first-rows`,
/// `ssi-all-rows`) any bench or browser's performance panel can read: at
/// the second, every row is there with its strip.
#[test]
fn dashboard_marks_first_and_all_rows() {
    let Some(exe) = chromium() else {
        panic!("chromium is not installed (sudo make test-deps installs it)");
    };
    const CHECKS: usize = 300;
    let fx = ok_checks(CHECKS);
    let server = Server::start(&fx);
    let url = format!("http://127.0.0.1:{}/", server.port);
    let mut b = Browser::open(&exe, &url);
    b.call("Page.enable", json!({}));
    // What the page shows when each mark is set (the observer runs
    // right after, and rows are only added meanwhile).
    b.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": "window.__at = {}; new PerformanceObserver(l => { for (const e of l.getEntries()) \
            window.__at[e.name] = [document.querySelectorAll('#services tbody tr').length, \
              document.querySelectorAll('#services tbody tr .strip .tick').length]; }).observe({entryTypes: ['mark']});"}),
    );
    b.call("Page.reload", json!({}));
    b.wait_for(
        "performance.getEntriesByName('ssi-all-rows').length",
        json!(1),
    );
    let first = b.eval("performance.getEntriesByName('ssi-first-rows').map(m => m.startTime)");
    let all = b.eval("performance.getEntriesByName('ssi-all-rows')[0].startTime");
    assert_eq!(first.as_array().map(Vec::len), Some(1), "{first}");
    assert!(
        first[0].as_f64().unwrap() <= all.as_f64().unwrap(),
        "{first} {all}"
    );
    b.wait_for("window.__at['ssi-all-rows'] !== undefined", json!(true));
    let at_first = b.eval("window.__at['ssi-first-rows']");
    assert!(
        at_first[0].as_u64().unwrap() >= 1,
        "no row at ssi-first-rows: {at_first}"
    );
    assert_eq!(
        b.eval("window.__at['ssi-all-rows']"),
        json!([CHECKS, CHECKS]),
        "every row with its strip (one line each) at ssi-all-rows"
    );
    // Tick titles left for later in the bulk build all come.
    b.wait_for(
        "[...document.querySelectorAll('#services tbody .tick')].every(t => t.title.includes('OK \\u2013 fine'))",
        json!(true),
    );
    // Once per page: a live line sets no mark again.
    fx.append("check_007", line("FAILURE", "gone"));
    b.wait_for(
        "document.querySelector('tr[data-service-id=\"check_007\"] td.status').dataset.status",
        json!("FAILURE"),
    );
    assert_eq!(
        b.eval(
            "performance.getEntriesByType('mark').filter(m => m.name.startsWith('ssi-')).length"
        ),
        json!(2)
    );
}

/// A broken script dropped in while the page is open shows within seconds:
/// no WebSocket message can carry it, so the page asks `GET /api/refused`
/// (the refused scripts, no log read) every 15 s, and a script fixed goes
/// from the list the same way. Here the page's 15 s timers run every
/// 0.5 s (the page's own code, its clock sped up).
#[test]
fn dashboard_shows_a_refused_script_dropped_in_while_open() {
    let Some(exe) = chromium() else {
        panic!("chromium is not installed (sudo make test-deps installs it)");
    };
    let fx = Fixture::new();
    fx.script("disk-usage.sh", "Disk Usage");
    fx.append("disk_usage", line("OK", "fine"));
    let server = Server::start(&fx);
    let (code, response) = server.get("/api/refused");
    assert_eq!(code, 200, "{response}");
    let refused = |response: &str| -> serde_json::Value {
        serde_json::from_str(response.split_once("\r\n\r\n").map_or("", |(_, b)| b)).unwrap()
    };
    assert_eq!(refused(&response), json!({"invalid": []}));

    let url = format!("http://127.0.0.1:{}/", server.port);
    let mut b = Browser::open(&exe, &url);
    b.call("Page.enable", json!({}));
    b.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": "const every = window.setInterval; \
            window.setInterval = (f, ms, ...a) => every(f, ms === 15000 ? 500 : ms, ...a);"}),
    );
    b.call("Page.reload", json!({}));
    b.wait_for(
        "document.querySelectorAll('#services tbody tr[data-service-id]').length",
        json!(1),
    );
    let bad = fx.script_with(
        "broken.sh",
        "# name: Broken\n# description: d\n# version: 1\n# schedule: every day\n",
    );
    // The broadcaster's list first (its watch sees the file), then the page.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let listed = loop {
        let v = refused(&server.get("/api/refused").1);
        if v["invalid"].as_array().is_some_and(|a| !a.is_empty()) {
            break v;
        }
        assert!(std::time::Instant::now() < deadline, "never refused: {v}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(
        listed["invalid"][0]["path"],
        json!(bad.display().to_string())
    );
    assert_eq!(listed["invalid"][0]["name"], json!("Broken"));
    // Any of its problems (a scan between the file's write and its chmod
    // also finds it not executable).
    assert!(
        listed["invalid"][0]["errors"].as_array().is_some_and(|a| a
            .iter()
            .any(|e| e.as_str().is_some_and(|e| e.contains("every day")))),
        "{listed}"
    );
    let row = "document.querySelector('#services tbody tr[data-invalid-path]')";
    b.wait_for(
        &format!("{row}?.dataset.invalidPath ?? null"),
        json!(bad.display().to_string()),
    );
    assert!(b
        .eval(&format!("{row}.querySelector('td.msg').textContent"))
        .as_str()
        .is_some_and(|t| t.contains("every day")));
    // Fixed: gone from both.
    fx.script("broken.sh", "Broken");
    b.wait_for(&format!("{row} === null"), json!(true));
    assert_eq!(
        refused(&server.get("/api/refused").1),
        json!({"invalid": []})
    );
}

/// The relative times ("9 d ago", "in 3 min") are refreshed every 15 s by
/// writing only those whose words changed: rewriting all of them (two per
/// row) made a 1,000-row table drop frames while scrolling.
#[test]
fn dashboard_refreshes_only_the_relative_times_that_changed() {
    let Some(exe) = chromium() else {
        panic!("chromium is not installed (sudo make test-deps installs it)");
    };
    const CHECKS: usize = 40;
    let fx = ok_checks(CHECKS);
    let server = Server::start(&fx);
    let url = format!("http://127.0.0.1:{}/", server.port);
    let mut b = Browser::open(&exe, &url);
    b.wait_for(
        "document.querySelectorAll('#services tbody td.when time').length",
        json!(CHECKS),
    );
    // Count the times written (a text replaced is a child list changed).
    b.eval(
        "window.__written = 0; new MutationObserver(recs => { for (const r of recs) \
            if (r.target.nodeName === 'TIME') window.__written++; })\
          .observe(document.getElementById('services'), {childList: true, characterData: true, subtree: true}); 1",
    );
    let refresh = "new Promise(r => { window.__written = 0; freshTimes(); setTimeout(() => r(window.__written), 0); })";
    let times = "document.querySelectorAll('#services tbody time')";
    let differing =
        format!("[...{times}].filter(t => t.textContent !== relative(t.dateTime)).length");
    // The page's clock stopped, so that no "in 45 s" turns into "in 44 s"
    // between two looks; times that read differently by then are written
    // by a first refresh, and then nothing changed.
    b.eval("const frozen = Date.now(); let shift = 0; Date.now = () => frozen + shift; 1");
    let settle = b.eval(&differing);
    assert_eq!(b.eval_async(refresh), settle, "only what reads differently");
    assert_eq!(
        b.eval_async(refresh),
        json!(0),
        "nothing changed, nothing written"
    );
    // Two days on: every "… ago" and "in …" reads differently.
    b.eval("shift = 2 * 86400e3; 1");
    let differ = b.eval(&format!(
        "[...{times}].filter(t => t.textContent !== relative(t.dateTime)).length"
    ));
    assert!(differ.as_u64().unwrap() >= CHECKS as u64, "{differ}");
    assert_eq!(
        b.eval_async(refresh),
        differ,
        "each changed time written once"
    );
    assert_eq!(
        b.eval(&format!(
            "[...{times}].every(t => t.textContent === relative(t.dateTime))"
        )),
        json!(true)
    );
    assert_eq!(b.eval_async(refresh), json!(0), "written once, not again");
}

/// `n` runs of a plugin check, one every 5 minutes up to a minute ago, each
/// a status line and its `perfdata:` line (the runner's log format) with
/// the value `value(i)`, in MB, against a warning at 30000 MB and a critical
/// at 33000 MB of 36000 MB.
fn plugin_log(n: usize, value: impl Fn(usize) -> u32) -> String {
    let now = jiff::Timestamp::now();
    (0..n)
        .map(|i| {
            let t = now - jiff::SignedDuration::from_secs(60 + 300 * (n - 1 - i) as i64);
            let v = value(i);
            let status = match v {
                _ if v >= 33000 => "FAILURE",
                _ if v >= 30000 => "WARNING",
                _ => "OK",
            };
            format!(
                "{}, {status}, DISK {status} - used: / {v} MB\nperfdata: '/'={v}MB;30000;33000;0;36000 'free inodes'=80%;;;0;100\n",
                t.strftime("%Y-%m-%d %H:%M:%S"),
            )
        })
        .collect()
}

/// A plugin's performance data: the row shows its main value beside the
/// status, and the detail draws each label over the recent runs with its
/// warning and critical thresholds as lines at their heights; a
/// screenshot of it for the report.
#[test]
fn dashboard_charts_performance_data_with_threshold_lines() {
    let Some(exe) = chromium() else {
        panic!("chromium is not installed (sudo make test-deps installs it)");
    };
    let fx = Fixture::new();
    fx.script("root-fs.sh", "Root file system");
    fx.script("backup.sh", "Nightly Backup");
    // Filling up, then a clean-up: OK, WARNING, FAILURE, OK.
    let value = |i: usize| {
        if i < 20 {
            26000 + 400 * i as u32
        } else {
            27000
        }
    };
    fx.append("root_fs", plugin_log(24, value));
    fx.append("backup", line("OK", "3 GiB in 4 min"));
    let server = Server::start_with(&fx, &[], &[("TZ", "UTC")]);
    let url = format!("http://127.0.0.1:{}/", server.port);
    let mut b = Browser::open(&exe, &url);

    let row = "document.querySelector('tr[data-service-id=\"root_fs\"]')";
    b.wait_for(
        &format!("{row}?.querySelector('.status .pd')?.textContent ?? null"),
        json!("/ 26.4 GiB"),
    );
    // A check without performance data shows none.
    assert_eq!(
        b.eval("document.querySelector('tr[data-service-id=\"backup\"] .pd')"),
        json!(null)
    );

    b.eval(&format!("{row}.click()"));
    let fig = "document.querySelector('#detail figure[data-label=\"/\"]')";
    b.wait_for(&format!("!!{fig}"), json!(true));
    assert_eq!(
        b.eval(
            "[...document.querySelectorAll('#detail figure')].map(f => f.dataset.label).join('|')"
        ),
        json!("/|free inodes")
    );
    // One point per run, the threshold lines at their values' heights:
    // the series crosses the warning line and the critical line.
    let geometry = b.eval(&format!(
        "(() => {{ const f = {fig}; const pts = f.querySelector('polyline.series').getAttribute('points')
            .split(' ').map(p => +p.split(',')[1]);
          const w = f.querySelector('line.thr-warning'), c = f.querySelector('line.thr-critical');
          return {{ n: pts.length, warn: +w.dataset.value, crit: +c.dataset.value,
            wy: +w.getAttribute('y1'), cy: +c.getAttribute('y1'),
            top: Math.min(...pts), first: pts[0], last: pts[pts.length - 1],
            caption: f.querySelector('figcaption').textContent,
            wcolour: getComputedStyle(w).stroke, ccolour: getComputedStyle(c).stroke,
            wshown: w.getBoundingClientRect().width > 100 }}; }})()"
    ));
    assert_eq!(geometry["n"], json!(24), "{geometry}");
    let y = |k: &str| geometry[k].as_f64().unwrap();
    assert_eq!(y("warn"), 30000.0 * 1048576.0, "{geometry}");
    assert_eq!(y("crit"), 33000.0 * 1048576.0, "{geometry}");
    // SVG y grows downwards: critical above warning, the peak above both,
    // the first and last runs below the warning line.
    assert!(y("cy") < y("wy"), "{geometry}");
    assert!(y("top") < y("cy"), "{geometry}");
    assert!(y("first") > y("wy") && y("last") > y("wy"), "{geometry}");
    assert_ne!(geometry["wcolour"], geometry["ccolour"], "{geometry}");
    assert_eq!(geometry["wshown"], json!(true), "{geometry}");
    assert_eq!(
        geometry["caption"],
        json!("/26.4 GiBwarning 29.3 GiBcritical 32.2 GiB")
    );
    // The ratio label: percent, no thresholds.
    assert_eq!(
        b.eval("document.querySelector('#detail figure[data-label=\"free inodes\"] figcaption b').textContent"),
        json!("80%")
    );
    assert_eq!(
        b.eval("document.querySelectorAll('#detail figure[data-label=\"free inodes\"] line.thr').length"),
        json!(0)
    );
    let shot = screenshot(&mut b, "dashboard-perfdata", 1100, 900, false);
    eprintln!("screenshot: {}", shot.display());
}

/// Not a test: a screenshot of a dashboard already running, for notes and
/// reports. `SSI_SHOT_URL=http://127.0.0.1:PORT/ SSI_SHOT_DETAIL=<id>
/// SSI_SHOT_OUT=file.png cargo test -p ssi-broadcaster --test browser --
/// --ignored screenshot_of_a_running_dashboard` (without SSI_SHOT_DETAIL, the
/// table).
#[test]
#[ignore = "a tool: needs SSI_SHOT_URL naming a running dashboard"]
fn screenshot_of_a_running_dashboard() {
    let exe = chromium().expect("chromium is not installed");
    let url = std::env::var("SSI_SHOT_URL").expect("SSI_SHOT_URL");
    let mut b = Browser::open(&exe, &url);
    b.wait_for(
        "document.getElementById('conn').dataset.state",
        json!("connected"),
    );
    // The histories (and with them the charts' data) come over HTTP.
    b.wait_for(
        "[...document.querySelectorAll('#services tbody tr')].every(r => r.querySelector('.tick') || !r.querySelector('.s-NONE') )",
        json!(true),
    );
    if let Some(id) = std::env::var("SSI_SHOT_DETAIL")
        .ok()
        .filter(|d| !d.is_empty())
    {
        b.eval(&format!(
            "document.querySelector('tr[data-service-id=\"{id}\"]').click()"
        ));
        b.wait_for("!!document.querySelector('#detail[open]')", json!(true));
    }
    let shot = screenshot(&mut b, "running-dashboard", 1200, 1000, false);
    let out = std::env::var("SSI_SHOT_OUT").unwrap_or_else(|_| shot.display().to_string());
    std::fs::copy(&shot, &out).unwrap();
    eprintln!("screenshot: {out}");
}
