// Command smsplus-bridge-minimal is the smallest useful SMS+ bridge: a generic
// JSON webhook signed with HMAC-SHA256. Copy it to start a bridge of your own.
package main

import "github.com/smsplus/smsplus/sdk/bridge"

func main() { bridge.Main(&minimal{now: timeNow}) }
