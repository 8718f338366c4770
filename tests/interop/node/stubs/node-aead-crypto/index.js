// Stand-in for node-aead-crypto (see package.json): node-dtls-client never loads it on
// Node >= 10 outside Electron. Fail loudly if that ever changes.
throw new Error("node-aead-crypto is stubbed out in tests/interop/node; node-dtls-client "
    + "should use node:crypto's CCM and GCM on this Node.js");
