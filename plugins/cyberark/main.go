// Command smsplus-bridge-cyberark is the SMS+ bridge for a CyberArk Identity
// custom SMS gateway.
package main

import "github.com/smsplus/smsplus/sdk/bridge"

func main() { bridge.Main(newCyberArk()) }
