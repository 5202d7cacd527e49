// Command smsplus-bridge-pingone is the SMS+ bridge for a PingOne custom SMS/voice
// notification provider (Settings > Senders).
package main

import "github.com/smsplus/smsplus/sdk/bridge"

func main() { bridge.Main(newPingOne()) }
