using System.Text.Json;

namespace Cloister.Kms.TestServer;

/// <summary>
/// A key policy, evaluated as the AWS IAM User Guide's policy evaluation logic describes for one principal: an
/// explicit Deny that matches wins, otherwise an Allow that matches admits, otherwise the request is denied.
/// A statement matches when its Action names <c>kms:ACTION</c> (or <c>kms:*</c>, <c>*</c>), its Resource is
/// <c>*</c> or the key's ARN, and every Condition holds. Principal is not compared: the test KMS has one caller.
/// Conditions: <c>StringEquals</c> and <c>StringEqualsIgnoreCase</c> over the request's context keys, here the
/// <c>kms:RecipientAttestation:ImageSha384</c> (PCR0) and <c>kms:RecipientAttestation:PCR&lt;n&gt;</c> keys the AWS
/// KMS Developer Guide ("Condition keys for Nitro Enclaves") defines; a key absent from the request (no Recipient)
/// fails its condition, as an operator without <c>IfExists</c> does.
/// Sources: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-nitro-enclave.html and
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html.
/// </summary>
internal sealed class KeyPolicy
{
    private static readonly string[] Operators = ["StringEquals", "StringEqualsIgnoreCase"];

    private readonly List<Statement> _statements;

    private KeyPolicy(List<Statement> statements) => _statements = statements;

    /// <summary>Parses a policy document; throws <see cref="ArgumentException"/> for one KMS would refuse to store.</summary>
    public static KeyPolicy Parse(string json)
    {
        using var document = ParseJson(json);
        if (!document.RootElement.TryGetProperty("Statement", out var statementsElement))
        {
            throw new ArgumentException("the key policy has no Statement");
        }

        var statements = new List<Statement>();
        foreach (var element in Many(statementsElement))
        {
            statements.Add(Statement.Parse(element));
        }

        return new KeyPolicy(statements);
    }

    /// <summary>Null when admitted; otherwise why not (each Allow statement for the action and its first failed condition).</summary>
    public string? Refusal(string action, string keyArn, IReadOnlyDictionary<string, string> context)
    {
        var qualified = "kms:" + action;
        var reasons = new List<string>();
        var allowed = false;
        foreach (var statement in _statements)
        {
            if (!statement.Covers(qualified, keyArn))
            {
                continue;
            }

            var failed = statement.FailedCondition(context);
            if (statement.Allow)
            {
                allowed |= failed is null;
                if (failed is not null)
                {
                    reasons.Add($"statement {statement.Sid}: {failed}");
                }
            }
            else if (failed is null)
            {
                return $"an explicit Deny in statement {statement.Sid}";
            }
        }

        return allowed ? null : reasons.Count == 0 ? "no statement allows the action" : string.Join("; ", reasons);
    }

    private static JsonDocument ParseJson(string json)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"the key policy is not JSON: {ex.Message}", nameof(json), ex);
        }
    }

    private static List<JsonElement> Many(JsonElement element) =>
        element.ValueKind == JsonValueKind.Array ? element.EnumerateArray().ToList() : [element];

    private static List<string> Strings(JsonElement element, string what) =>
        Many(element).Select(e => e.ValueKind == JsonValueKind.String
            ? e.GetString()!
            : throw new ArgumentException($"{what} must be a string or a list of strings")).ToList();

    private sealed record Condition(string Operator, string Key, List<string> Values);

    private sealed record Statement(string Sid, bool Allow, List<string> Actions, List<string> Resources, List<Condition> Conditions)
    {
        public static Statement Parse(JsonElement element)
        {
            var sid = element.TryGetProperty(nameof(Sid), out var sidElement) ? sidElement.GetString() ?? "(no Sid)" : "(no Sid)";
            var effect = element.TryGetProperty("Effect", out var effectElement) ? effectElement.GetString() : null;
            if (effect is not ("Allow" or "Deny"))
            {
                throw new ArgumentException($"statement {sid}: Effect must be Allow or Deny");
            }

            if (!element.TryGetProperty("Action", out var actionElement))
            {
                throw new ArgumentException($"statement {sid}: no Action");
            }

            var resources = element.TryGetProperty("Resource", out var resourceElement) ? Strings(resourceElement, "Resource") : ["*"];
            var conditions = new List<Condition>();
            if (element.TryGetProperty("Condition", out var conditionElement))
            {
                foreach (var op in conditionElement.EnumerateObject())
                {
                    if (!Operators.Contains(op.Name, StringComparer.Ordinal))
                    {
                        throw new ArgumentException($"statement {sid}: condition operator {op.Name} is not supported (only {string.Join(", ", Operators)})");
                    }

                    foreach (var key in op.Value.EnumerateObject())
                    {
                        conditions.Add(new Condition(op.Name, key.Name, Strings(key.Value, key.Name)));
                    }
                }
            }

            return new Statement(sid, effect == "Allow", Strings(actionElement, "Action"), resources, conditions);
        }

        public bool Covers(string action, string keyArn) =>
            Actions.Any(a => a == "*" || string.Equals(a, "kms:*", StringComparison.OrdinalIgnoreCase) || string.Equals(a, action, StringComparison.OrdinalIgnoreCase)) &&
            Resources.Any(r => r == "*" || r == keyArn);

        public string? FailedCondition(IReadOnlyDictionary<string, string> context)
        {
            foreach (var condition in Conditions)
            {
                // Condition key names are case-insensitive in IAM.
                var actual = context.FirstOrDefault(p => string.Equals(p.Key, condition.Key, StringComparison.OrdinalIgnoreCase)).Value;
                var comparison = condition.Operator == "StringEqualsIgnoreCase" ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
                if (actual is null)
                {
                    return $"{condition.Operator} {condition.Key} not met: the request has no such value (no Recipient attestation document)";
                }

                if (!condition.Values.Any(v => string.Equals(v, actual, comparison)))
                {
                    return $"{condition.Operator} {condition.Key} not met: the request's value is {actual}, the policy requires {string.Join(" or ", condition.Values)}";
                }
            }

            return null;
        }
    }
}
