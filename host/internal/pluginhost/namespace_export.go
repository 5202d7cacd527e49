package pluginhost

// SettingsNamespace returns the prefixes of the settings bridge id may read: its
// id's (OKTA_ for okta) and, for a shipped bridge whose setting names predate
// that rule, its legacy ones (PING_ for pingone). The configuration uses it to
// tell a bridge's settings from typos of the host's.
func SettingsNamespace(id string) []string { return namespace(id) }
