// Command aws-sdk-go-reader reads shared config/credentials files with the AWS SDK for Go v2, the
// reader of Velero's `cloud` file (velero-plugin-for-aws >= 1.10) and of aws/ files in Go apps.
//
// stdin: a JSON list of {"profile", "credentials", "config"} ("config" may be ""); stdout: a JSON
// list of the settings the SDK resolved for each, in the same order.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

type query struct {
	Profile     string `json:"profile"`
	Credentials string `json:"credentials"`
	Config      string `json:"config"`
}

type settings struct {
	AccessKeyID            string `json:"accessKeyId"`
	SecretAccessKey        string `json:"secretAccessKey"`
	Region                 string `json:"region"`
	EndpointURL            string `json:"endpointUrl"`
	ChecksumWhenRequired   bool   `json:"checksumWhenRequired"`
	ValidationWhenRequired bool   `json:"validationWhenRequired"`
}

func read(q query) (settings, error) {
	configFiles := []string{}
	if q.Config != "" {
		configFiles = append(configFiles, q.Config)
	}
	sc, err := config.LoadSharedConfigProfile(context.Background(), q.Profile, func(o *config.LoadSharedConfigOptions) {
		o.CredentialsFiles = []string{q.Credentials}
		o.ConfigFiles = configFiles
	})
	if err != nil {
		return settings{}, err
	}
	return settings{
		AccessKeyID:            sc.Credentials.AccessKeyID,
		SecretAccessKey:        sc.Credentials.SecretAccessKey,
		Region:                 sc.Region,
		EndpointURL:            sc.BaseEndpoint,
		ChecksumWhenRequired:   sc.RequestChecksumCalculation == aws.RequestChecksumCalculationWhenRequired,
		ValidationWhenRequired: sc.ResponseChecksumValidation == aws.ResponseChecksumValidationWhenRequired,
	}, nil
}

func main() {
	var queries []query
	if err := json.NewDecoder(os.Stdin).Decode(&queries); err != nil {
		fmt.Fprintln(os.Stderr, "reading queries:", err)
		os.Exit(2)
	}
	out := make([]settings, 0, len(queries))
	for _, q := range queries {
		s, err := read(q)
		if err != nil {
			fmt.Fprintf(os.Stderr, "profile %s in %s: %v\n", q.Profile, q.Credentials, err)
			os.Exit(1)
		}
		out = append(out, s)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
