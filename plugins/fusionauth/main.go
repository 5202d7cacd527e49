// Command smsplus-bridge-fusionauth is the SMS+ bridge for FusionAuth's Generic
// Messenger.
package main

import "github.com/smsplus/smsplus/sdk/bridge"

func main() { bridge.Main(newFusionAuth()) }
