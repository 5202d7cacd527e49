// Command smsplus-bridge-auth0 is the SMS+ bridge for Auth0: the custom phone
// provider Action, forwarded send-phone-message calls and the legacy Passwordless
// SMS gateway.
package main

import "github.com/smsplus/smsplus/sdk/bridge"

func main() { bridge.Main(newAuth0()) }
