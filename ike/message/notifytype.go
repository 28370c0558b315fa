package message

// NotifyType is the Notify Message Type of a Notify payload (RFC 7296 §3.10.1). Types below
// 16384 report errors, the others status.
type NotifyType uint16

// Error types: all assigned in 1–44 (RFC 7296, RFC 4555, RFC 5026).
const (
	NotifyUnsupportedCriticalPayload NotifyType = 1
	NotifyInvalidIKESPI              NotifyType = 4
	NotifyInvalidMajorVersion        NotifyType = 5
	NotifyInvalidSyntax              NotifyType = 7
	NotifyInvalidMessageID           NotifyType = 9
	NotifyInvalidSPI                 NotifyType = 11
	NotifyNoProposalChosen           NotifyType = 14
	NotifyInvalidKEPayload           NotifyType = 17
	NotifyAuthenticationFailed       NotifyType = 24
	NotifySinglePairRequired         NotifyType = 34
	NotifyNoAdditionalSAs            NotifyType = 35
	NotifyInternalAddressFailure     NotifyType = 36
	NotifyFailedCPRequired           NotifyType = 37
	NotifyTSUnacceptable             NotifyType = 38
	NotifyInvalidSelectors           NotifyType = 39
	NotifyUnacceptableAddresses      NotifyType = 40
	NotifyUnexpectedNATDetected      NotifyType = 41
	NotifyUseAssignedHoA             NotifyType = 42
	NotifyTemporaryFailure           NotifyType = 43
	NotifyChildSANotFound            NotifyType = 44
)

// Status types 16384–16431.
const (
	NotifyInitialContact                  NotifyType = 16384
	NotifySetWindowSize                   NotifyType = 16385
	NotifyAdditionalTSPossible            NotifyType = 16386
	NotifyIPCompSupported                 NotifyType = 16387
	NotifyNATDetectionSourceIP            NotifyType = 16388
	NotifyNATDetectionDestinationIP       NotifyType = 16389
	NotifyCookie                          NotifyType = 16390
	NotifyUseTransportMode                NotifyType = 16391
	NotifyHTTPCertLookupSupported         NotifyType = 16392
	NotifyRekeySA                         NotifyType = 16393
	NotifyESPTFCPaddingNotSupported       NotifyType = 16394
	NotifyNonFirstFragmentsAlso           NotifyType = 16395
	NotifyMOBIKESupported                 NotifyType = 16396
	NotifyAdditionalIP4Address            NotifyType = 16397
	NotifyAdditionalIP6Address            NotifyType = 16398
	NotifyNoAdditionalAddresses           NotifyType = 16399
	NotifyUpdateSAAddresses               NotifyType = 16400
	NotifyCookie2                         NotifyType = 16401
	NotifyNoNATsAllowed                   NotifyType = 16402
	NotifyAuthLifetime                    NotifyType = 16403
	NotifyMultipleAuthSupported           NotifyType = 16404
	NotifyAnotherAuthFollows              NotifyType = 16405
	NotifyRedirectSupported               NotifyType = 16406
	NotifyRedirect                        NotifyType = 16407
	NotifyRedirectedFrom                  NotifyType = 16408
	NotifyTicketLTOpaque                  NotifyType = 16409
	NotifyTicketRequest                   NotifyType = 16410
	NotifyTicketAck                       NotifyType = 16411
	NotifyTicketNack                      NotifyType = 16412
	NotifyTicketOpaque                    NotifyType = 16413
	NotifyLinkID                          NotifyType = 16414
	NotifyUseWESPMode                     NotifyType = 16415
	NotifyROHCSupported                   NotifyType = 16416
	NotifyEAPOnlyAuthentication           NotifyType = 16417
	NotifyChildlessIKEv2Supported         NotifyType = 16418
	NotifyQuickCrashDetection             NotifyType = 16419
	NotifyIKEv2MessageIDSyncSupported     NotifyType = 16420
	NotifyIPsecReplayCounterSyncSupported NotifyType = 16421
	NotifyIKEv2MessageIDSync              NotifyType = 16422
	NotifyIPsecReplayCounterSync          NotifyType = 16423
	NotifySecurePasswordMethods           NotifyType = 16424
	NotifyPSKPersist                      NotifyType = 16425
	NotifyPSKConfirm                      NotifyType = 16426
	NotifyERXSupported                    NotifyType = 16427
	NotifyIFOMCapability                  NotifyType = 16428
	NotifySenderRequestID                 NotifyType = 16429
	NotifyIKEv2FragmentationSupported     NotifyType = 16430
	NotifySignatureHashAlgorithms         NotifyType = 16431
)

// firstStatusNotify starts the status range; every lower type is an error (§3.10.1).
const firstStatusNotify = NotifyInitialContact

var notifyNames = map[NotifyType]string{
	NotifyUnsupportedCriticalPayload:      "UNSUPPORTED_CRITICAL_PAYLOAD",
	NotifyInvalidIKESPI:                   "INVALID_IKE_SPI",
	NotifyInvalidMajorVersion:             "INVALID_MAJOR_VERSION",
	NotifyInvalidSyntax:                   "INVALID_SYNTAX",
	NotifyInvalidMessageID:                "INVALID_MESSAGE_ID",
	NotifyInvalidSPI:                      "INVALID_SPI",
	NotifyNoProposalChosen:                "NO_PROPOSAL_CHOSEN",
	NotifyInvalidKEPayload:                "INVALID_KE_PAYLOAD",
	NotifyAuthenticationFailed:            "AUTHENTICATION_FAILED",
	NotifySinglePairRequired:              "SINGLE_PAIR_REQUIRED",
	NotifyNoAdditionalSAs:                 "NO_ADDITIONAL_SAS",
	NotifyInternalAddressFailure:          "INTERNAL_ADDRESS_FAILURE",
	NotifyFailedCPRequired:                "FAILED_CP_REQUIRED",
	NotifyTSUnacceptable:                  "TS_UNACCEPTABLE",
	NotifyInvalidSelectors:                "INVALID_SELECTORS",
	NotifyUnacceptableAddresses:           "UNACCEPTABLE_ADDRESSES",
	NotifyUnexpectedNATDetected:           "UNEXPECTED_NAT_DETECTED",
	NotifyUseAssignedHoA:                  "USE_ASSIGNED_HoA",
	NotifyTemporaryFailure:                "TEMPORARY_FAILURE",
	NotifyChildSANotFound:                 "CHILD_SA_NOT_FOUND",
	NotifyInitialContact:                  "INITIAL_CONTACT",
	NotifySetWindowSize:                   "SET_WINDOW_SIZE",
	NotifyAdditionalTSPossible:            "ADDITIONAL_TS_POSSIBLE",
	NotifyIPCompSupported:                 "IPCOMP_SUPPORTED",
	NotifyNATDetectionSourceIP:            "NAT_DETECTION_SOURCE_IP",
	NotifyNATDetectionDestinationIP:       "NAT_DETECTION_DESTINATION_IP",
	NotifyCookie:                          "COOKIE",
	NotifyUseTransportMode:                "USE_TRANSPORT_MODE",
	NotifyHTTPCertLookupSupported:         "HTTP_CERT_LOOKUP_SUPPORTED",
	NotifyRekeySA:                         "REKEY_SA",
	NotifyESPTFCPaddingNotSupported:       "ESP_TFC_PADDING_NOT_SUPPORTED",
	NotifyNonFirstFragmentsAlso:           "NON_FIRST_FRAGMENTS_ALSO",
	NotifyMOBIKESupported:                 "MOBIKE_SUPPORTED",
	NotifyAdditionalIP4Address:            "ADDITIONAL_IP4_ADDRESS",
	NotifyAdditionalIP6Address:            "ADDITIONAL_IP6_ADDRESS",
	NotifyNoAdditionalAddresses:           "NO_ADDITIONAL_ADDRESSES",
	NotifyUpdateSAAddresses:               "UPDATE_SA_ADDRESSES",
	NotifyCookie2:                         "COOKIE2",
	NotifyNoNATsAllowed:                   "NO_NATS_ALLOWED",
	NotifyAuthLifetime:                    "AUTH_LIFETIME",
	NotifyMultipleAuthSupported:           "MULTIPLE_AUTH_SUPPORTED",
	NotifyAnotherAuthFollows:              "ANOTHER_AUTH_FOLLOWS",
	NotifyRedirectSupported:               "REDIRECT_SUPPORTED",
	NotifyRedirect:                        "REDIRECT",
	NotifyRedirectedFrom:                  "REDIRECTED_FROM",
	NotifyTicketLTOpaque:                  "TICKET_LT_OPAQUE",
	NotifyTicketRequest:                   "TICKET_REQUEST",
	NotifyTicketAck:                       "TICKET_ACK",
	NotifyTicketNack:                      "TICKET_NACK",
	NotifyTicketOpaque:                    "TICKET_OPAQUE",
	NotifyLinkID:                          "LINK_ID",
	NotifyUseWESPMode:                     "USE_WESP_MODE",
	NotifyROHCSupported:                   "ROHC_SUPPORTED",
	NotifyEAPOnlyAuthentication:           "EAP_ONLY_AUTHENTICATION",
	NotifyChildlessIKEv2Supported:         "CHILDLESS_IKEV2_SUPPORTED",
	NotifyQuickCrashDetection:             "QUICK_CRASH_DETECTION",
	NotifyIKEv2MessageIDSyncSupported:     "IKEV2_MESSAGE_ID_SYNC_SUPPORTED",
	NotifyIPsecReplayCounterSyncSupported: "IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED",
	NotifyIKEv2MessageIDSync:              "IKEV2_MESSAGE_ID_SYNC",
	NotifyIPsecReplayCounterSync:          "IPSEC_REPLAY_COUNTER_SYNC",
	NotifySecurePasswordMethods:           "SECURE_PASSWORD_METHODS",
	NotifyPSKPersist:                      "PSK_PERSIST",
	NotifyPSKConfirm:                      "PSK_CONFIRM",
	NotifyERXSupported:                    "ERX_SUPPORTED",
	NotifyIFOMCapability:                  "IFOM_CAPABILITY",
	NotifySenderRequestID:                 "SENDER_REQUEST_ID",
	NotifyIKEv2FragmentationSupported:     "IKEV2_FRAGMENTATION_SUPPORTED",
	NotifySignatureHashAlgorithms:         "SIGNATURE_HASH_ALGORITHMS",
}

func (t NotifyType) String() string { return enumString(notifyNames, t, "NOTIFY") }

// IsError reports whether t is an error type (0–16383), as opposed to a status type.
func (t NotifyType) IsError() bool { return t < firstStatusNotify }
