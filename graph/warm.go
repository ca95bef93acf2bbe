package graph

import (
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/reports"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
)

var _ = reports.NewReportsRequestBuilder
var _ = models.NewActiveUsersMetric
var _ = core.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient
var _ = azidentity.NewClientSecretCredential
