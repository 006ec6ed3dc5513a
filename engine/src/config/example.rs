//! The documented example configuration: every field of `moxide.toml` and
//! `domains.toml` with what it does and its default. `moxide serve
//! --example-config` prints both; a test parses them as they are.

/// An example `moxide.toml`, every field explained.
pub const SERVER: &str = r#"# moxide.toml: the static configuration of `moxide serve --config moxide.toml`.
# Relative paths start at the directory of this file. Unknown fields are
# errors. Accounts are not configured here: they live in the data directory
# and are managed with `moxide config --config moxide.toml account ...`.

# The server's own fully qualified host name: used in the SMTP greeting and
# EHLO, in Received header fields and in the Message-ID of submitted mail
# that has none. Its A/AAAA records should point at this machine, and its
# reverse DNS back at this name. Required.
hostname = "mail.example.org"

# Directory of the message store (created on first start). Required.
data_dir = "data"

# The domains file: local domains and their DKIM keys.
# Default: "domains.toml".
domains_file = "domains.toml"

# Nameservers (IP:PORT) for every DNS lookup: the sender checks of incoming
# mail and outgoing delivery. They should validate DNSSEC (DANE needs the
# "authentic data" bit). Default: empty, the nameservers of /etc/resolv.conf.
# resolver = ["127.0.0.1:53"]

# Check the sender of mail arriving over SMTP (iprev, SPF, DKIM, DMARC),
# record the results in Authentication-Results, refuse DMARC p=reject
# failures, deliver p=quarantine failures to Junk. Default: true.
sender_checks = true

# The account that receives mail for <Postmaster> and postmaster@ every local
# domain and this host name, unless an account has that address itself
# (RFC 5321 4.5.1 requires postmaster to be accepted; mox's
# Postmaster.Account). `moxide serve` refuses to start when the account does
# not exist, and warns when this is not set.
# Default: not set (such mail is refused as an unknown user).
postmaster = "admin"

# Listeners: addresses and the services on them, each service with its port
# (0: the system picks a free port, shown at start). A service without a
# port is not offered. Every listener needs a TLS certificate: SMTP offers
# STARTTLS, submission and IMAP accept logins only over TLS. The files are
# read at each start (replace them and restart to renew).
[[listeners]]
# A name for messages. Default: "listeners[N]".
name = "public"
# Addresses to listen on. Required, not empty.
ips = ["0.0.0.0", "::"]
# PEM certificate chain (leaf first) and its PEM private key. Required.
tls_cert = "tls/cert.pem"
tls_key = "tls/key.pem"
# SMTP for incoming mail, STARTTLS offered (standard port 25).
smtp = 25
# Submission with STARTTLS; AUTH only after STARTTLS (standard port 587).
submission = 587
# Submission with implicit TLS (standard port 465).
submissions = 465
# IMAP with STARTTLS; login only after STARTTLS (standard port 143).
imap = 143
# IMAP with implicit TLS (standard port 993).
imaps = 993

# Outgoing delivery: how certificates of MX hosts are verified.
[delivery]
# Verify certificates against the web PKI where MTA-STS asks for it.
# Default: true.
pkix = true
# Verify certificates with DANE (TLSA records, DNSSEC-signed). Default: true.
dane = true
# Allow delivery to loopback and private addresses. Only for tests.
# Default: false.
allow_loopback = false
# PEM files of CA certificates to trust besides the web PKI's roots when
# verifying MX hosts under MTA-STS, fetching MTA-STS policies and reaching
# smarthosts: a private CA. Default: none.
# extra_ca_files = ["/etc/moxide/private-ca.pem"]

# Transports: other ways out than the default, direct delivery to the MX
# hosts of each recipient domain on port 25. Each is a [transports.NAME]
# table; routes below choose one.
#
# kind = "direct": MX delivery, with a port override (tests: another
# server's SMTP port on loopback).
[transports.direct1025]
kind = "direct"
port = 1025
#
# kind = "smarthost": everything through one submission server.
[transports.relay]
kind = "smarthost"
# Host name of the submission server. Required.
host = "smtp.provider.example"
# Port. Default: 465 with implicit_tls, else 587.
port = 465
# TLS from the first byte; else STARTTLS, which is then required.
# Default: false.
implicit_tls = true
# Login, with the password in the first line of password_file (keep it
# readable only by moxide). Both or neither.
username = "me@example.org"
password_file = "relay-password"

# Routes: which transport carries which mail; the first matching route
# wins, no match: direct delivery. from_domains and to_domains list sender
# and recipient domains; empty or left out matches any; ".example.org"
# matches subdomains of example.org.
[[routes]]
to_domains = ["example.net", ".example.net"]
transport = "relay"
"#;

/// An example `domains.toml`, every field explained.
pub const DOMAINS: &str = r#"# domains.toml: the local domains. Mail for addresses in these domains is
# delivered to the accounts holding them; submitted mail from them is
# DKIM-signed. Relative paths start at the directory of this file. Unknown
# fields are errors. `moxide config dkim add DOMAIN SELECTOR` adds a key.

# One table per domain; an empty table is a domain without DKIM signing.
[domains."example.org"]

# DKIM (RFC 6376): the selectors of the domain, one table each. Publish
# each selector's public key as TXT at SELECTOR._domainkey.DOMAIN (printed
# by `moxide config dkim add`).
[domains."example.org".dkim.selectors.2024a]
# PEM private key: PKCS#8 ed25519 or RSA (2048 to 4096 bits), or PKCS#1
# RSA. The algorithm (ed25519-sha256 or rsa-sha256) follows from the key.
# Required.
private_key_file = "dkim/example.org.2024a.ed25519.pem"
# Header fields to sign; must include From. Default: From, To, Cc, Bcc,
# Reply-To, References, In-Reply-To, Subject, Date, Message-ID,
# Content-Type.
headers = ["From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "Content-Type"]
# Sign each header field once more than it occurs, so none can be added
# after signing. Default: true.
oversign = true
# Header/body canonicalization: relaxed or simple each. Default:
# "relaxed/relaxed".
canonicalization = "relaxed/relaxed"
# Signatures expire (x=) this many seconds after signing. Default: none.
expiration_seconds = 259200

[domains."example.org".dkim.selectors.2024b]
private_key_file = "dkim/example.org.2024b.rsa2048.pem"

[domains."example.org".dkim]
# The selectors that sign submitted mail, each adds a DKIM-Signature.
# Mail from a subdomain without selectors of its own is signed by the
# nearest listed parent domain. Default: empty, no signing.
sign = ["2024a", "2024b"]

[domains."example.net"]
"#;
