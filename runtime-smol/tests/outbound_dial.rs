//! `moxide::outbound::dial` against localserve's SMTP port on 127.0.0.1:
//! plaintext, STARTTLS with any certificate, PKIX with the default roots
//! (the self-signed certificate is not trusted: nothing is sent) and with
//! localserve's certificate as root, DANE-EE matching and not matching the
//! certificate, a refused connection. Every delivered message is read back
//! over IMAPS, and the refused ones are checked absent. A server that stops
//! reading during TLS message data ends the dial after the data timeout.

const BIN: &str = env!("CARGO_BIN_EXE_moxide");

mod common;

include!("cases/outbound_dial.rs");

/// The dial on smol.
fn dial(
    addr: SocketAddr,
    conn: ClientConn,
    roots: &Arc<RootCertStore>,
) -> (ClientConn, Option<std::io::Error>) {
    smol::block_on(moxide::outbound::dial(
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
