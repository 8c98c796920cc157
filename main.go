// Command terraform-provider-orbit is the Terraform provider for Orbit.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/orbit-iac/terraform-provider-orbit/internal/provider"
	"github.com/orbit-iac/terraform-provider-orbit/internal/version"
)

// startProfile starts what a bench build (main_profile.go) records and returns
// its stop; a release build records nothing.
var startProfile = func() func() { return func() {} }

func main() {
	var debug, showVersion bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.BoolVar(&showVersion, "version", false, "print the version and exit")
	flag.Parse()
	if showVersion {
		fmt.Fprintln(os.Stdout, version.String("terraform-provider-orbit"))
		return
	}

	// Before Serve, which makes the loggers: nothing is logged that Terraform
	// would discard, unless a TF_LOG* variable asks for it.
	if err := provider.QuietLogsUnlessAsked(); err != nil {
		log.Fatal(err)
	}
	stopProfile := startProfile()
	err := providerserver.Serve(context.Background(), provider.New(version.Get()), providerserver.ServeOpts{
		Address:         "registry.terraform.io/orbit-iac/orbit",
		Debug:           debug,
		ProtocolVersion: 6,
	})
	stopProfile()
	if err != nil {
		log.Fatal(err)
	}
}
