package bridge

// SDKVersion is the version of this module, reported to the host in Info. It is
// the one place the SDK's version is written: the release tag is sdk/v<SDKVersion>
// (sdk/README.md, "Releasing"), and a test checks that the example bridge's go.mod
// and the documentation name the same version.
const SDKVersion = "1.0.0"
