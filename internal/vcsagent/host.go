package vcsagent

import "os"

var osHostname = os.Hostname
