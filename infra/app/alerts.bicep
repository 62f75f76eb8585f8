// Alerts an operator acts on, as log search alerts over Application Insights:
// - a queue message moved to <queue>-poison (the Functions host logs it when maxDequeueCount is
//   reached; host.json sets 5);
// - a failed token verification and an SBC change parked as failed: the capabilities log one
//   structured line each, a JSON object whose "event" is token_verification_failed or
//   sbc_change_failed (docs/deploy.md, "Alerts", is the contract they must keep).
param applicationInsightsId string
param location string
param tags object = {}
param namePrefix string

@description('Who is e-mailed when an alert fires; empty = alerts show in the portal only.')
param alertEmailAddress string = ''

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmailAddress)) {
  name: 'ag-${namePrefix}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: take('switchboard', 12)
    enabled: true
    emailReceivers: [
      {
        name: 'operators'
        emailAddress: alertEmailAddress
        useCommonAlertSchema: true
      }
    ]
  }
}

var actionGroups = empty(alertEmailAddress) ? [] : [actionGroup.id]

var alerts = [
  {
    name: 'poison-queue-message'
    displayName: 'Switchboard: a queue message went to poison'
    description: 'A message failed maxDequeueCount times and was moved to <queue>-poison. The sweep re-queues orders past their due time; find the cause in the traces before it repeats.'
    severity: 2
    query: '''
traces
| where message has "MaxDequeueCount" and message has "-poison"
| project timestamp, message, operation_Name, cloud_RoleInstance
'''
  }
  {
    name: 'token-verification-failed'
    displayName: 'Switchboard: a customer token failed verification'
    description: 'A customer\'s refresh token could not be verified or renewed (event token_verification_failed): the customer may have to consent again.'
    severity: 2
    query: '''
traces
| where message has "token_verification_failed"
| extend entry = parse_json(message)
| where tostring(entry.event) == "token_verification_failed"
| project timestamp, message, operation_Name
'''
  }
  {
    name: 'sbc-change-failed'
    displayName: 'Switchboard: an SBC change was parked as failed'
    description: 'A dial-plan change could not be applied to an SBC and was parked as failed (event sbc_change_failed): the SBC and the intended state differ until an operator retries it.'
    severity: 1
    query: '''
traces
| where message has "sbc_change_failed"
| extend entry = parse_json(message)
| where tostring(entry.event) == "sbc_change_failed"
| project timestamp, message, operation_Name
'''
  }
]

resource rules 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = [
  for alert in alerts: {
    name: 'alert-${namePrefix}-${alert.name}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: alert.displayName
      description: alert.description
      severity: alert.severity
      enabled: true
      scopes: [applicationInsightsId]
      evaluationFrequency: 'PT5M'
      windowSize: 'PT5M'
      criteria: {
        allOf: [
          {
            query: alert.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
          }
        ]
      }
      autoMitigate: true
      actions: { actionGroups: actionGroups }
    }
  }
]
