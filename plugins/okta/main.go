// Command smsplus-bridge-okta is the SMS+ bridge for Okta's telephony inline hook.
package main

import "github.com/smsplus/smsplus/sdk/bridge"

func main() { bridge.Main(newOkta()) }
