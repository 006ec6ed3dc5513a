#!/usr/bin/python3
"""DKIM interop helper for proto/tests/dkim_interop.rs: runs dkimpy
(Debian python3-dkim) on cases listed in a manifest file, one per line, and
prints one result line per case.

  verify MSGFILE IDX NAME RECORDFILE
      verifies signature IDX of MSGFILE; the key record at NAME (the text in
      RECORDFILE) is given to dkimpy through its dnsfunc argument.
      prints "pass" or "fail".
  sign MSGFILE SELECTOR DOMAIN KEYFILE ALG HCANON/BCANON LENGTH(0|1)
      signs MSGFILE with dkimpy; ALG is rsa-sha256 (KEYFILE: PKCS#1 PEM) or
      ed25519-sha256 (KEYFILE: base64 of the 32-byte seed).
      prints the DKIM-Signature field, base64-encoded, on one line.
"""
import base64
import sys

import dkim


def main(manifest):
    out = []
    with open(manifest) as f:
        for line in f:
            words = line.split()
            if not words:
                continue
            if words[0] == 'verify':
                msg_file, idx, name, record_file = words[1:5]
                msg = open(msg_file, 'rb').read()
                record = open(record_file, 'rb').read()

                def dnsfunc(qname, timeout=5, _name=name, _record=record):
                    if qname.rstrip(b'.').decode().lower() == _name:
                        return _record
                    return None

                d = dkim.DKIM(msg, minkey=1024)
                try:
                    ok = d.verify(idx=int(idx), dnsfunc=dnsfunc)
                except dkim.DKIMException as e:
                    print(msg_file, e, file=sys.stderr)
                    ok = False
                out.append('pass' if ok else 'fail')
            elif words[0] == 'sign':
                msg_file, sel, dom, key_file, alg, canon, length = words[1:8]
                msg = open(msg_file, 'rb').read()
                key = open(key_file, 'rb').read().strip()
                hc, bc = canon.split('/')
                d = dkim.DKIM(msg, signature_algorithm=alg.encode())
                sig = d.sign(sel.encode(), dom.encode(), key,
                             canonicalize=(hc.encode(), bc.encode()),
                             include_headers=[b'from', b'to', b'subject', b'date'],
                             length=length == '1')
                out.append(base64.b64encode(sig).decode())
            else:
                out.append('error: unknown case ' + words[0])
    print('\n'.join(out))


if __name__ == '__main__':
    main(sys.argv[1])
