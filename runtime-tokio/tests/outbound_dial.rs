//! `moxide_tokio::outbound::dial` against `moxide-tokio localserve`: the
//! same cases as the smol runtime's (plaintext, STARTTLS with any
//! certificate, PKIX refused and trusted, DANE-EE matching and not, a
//! refused connection), messages read back over IMAPS.

const BIN: &str = env!("CARGO_BIN_EXE_moxide-tokio");

#[path = "../../runtime-smol/tests/common/mod.rs"]
mod common;

include!("../../runtime-smol/tests/cases/outbound_dial.rs");

/// The dial on a tokio runtime.
fn dial(
    addr: SocketAddr,
    conn: ClientConn,
    roots: &Arc<RootCertStore>,
) -> (ClientConn, Option<std::io::Error>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(moxide_tokio::outbound::dial(
        addr,
        std::time::Duration::from_secs(10),
        conn,
        roots,
    ))
}

#[test]
fn plain_starttls_pkix_and_dane_against_localserve() {
    run_all_cases(&moxide::tls_client::default_roots());
}

#[test]
fn a_server_that_stops_reading_during_tls_data_does_not_hang_the_dial() {
    stalled_tls_data_case(&moxide::tls_client::default_roots());
}
