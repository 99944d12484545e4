using System.Text.RegularExpressions;
using Cloister.Runtime.Manifest;
using YamlDotNet.RepresentationModel;
using static Cloister.Build.Manifests.YamlNodeReader;

namespace Cloister.Build.Manifests;

// The manifest's 'kms_proxy': the AWS KMS proxy inside the enclave (docs/kms.md).
public sealed partial class EnclaveManifestReader
{
    /// <summary>
    /// Every operation of the AWS KMS API reference ("Actions", docs.aws.amazon.com/kms/latest/APIReference/API_Operations),
    /// as <c>X-Amz-Target</c> names it after <c>TrentService.</c>. A name outside it could never be called, so it is a
    /// typing mistake, not a permission.
    /// </summary>
    internal static readonly string[] KmsActions =
    [
        "CancelKeyDeletion", "ConnectCustomKeyStore", "CreateAlias", "CreateCustomKeyStore", "CreateGrant", "CreateKey",
        "Decrypt", "DeleteAlias", "DeleteCustomKeyStore", "DeleteImportedKeyMaterial", "DeriveSharedSecret",
        "DescribeCustomKeyStores", "DescribeKey", "DisableKey", "DisableKeyRotation", "DisconnectCustomKeyStore",
        "EnableKey", "EnableKeyRotation", "Encrypt", "GenerateDataKey", "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext", "GenerateDataKeyWithoutPlaintext", "GenerateMac", "GenerateRandom",
        "GetKeyLastUsage", "GetKeyPolicy", "GetKeyRotationStatus", "GetParametersForImport", "GetPublicKey",
        "ImportKeyMaterial", "ListAliases", "ListGrants", "ListKeyPolicies", "ListKeyRotations", "ListKeys",
        "ListResourceTags", "ListRetirableGrants", "PutKeyPolicy", "ReEncrypt", "ReplicateKey", "RetireGrant",
        "RevokeGrant", "RotateKeyOnDemand", "ScheduleKeyDeletion", "Sign", "TagResource", "UntagResource", "UpdateAlias",
        "UpdateCustomKeyStore", "UpdateKeyDescription", "UpdatePrimaryRegion", "Verify", "VerifyMac",
    ];

    private const string KeyForms = "a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), an alias ARN (arn:aws:kms:REGION:ACCOUNT:alias/NAME) or an alias name (alias/NAME)";

    [GeneratedRegex("^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$")]
    private static partial Regex RegionRule();

    // Partitions: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-eusc… Key ids: a UUID, or mrk-… for multi-Region keys.
    [GeneratedRegex("^arn:aws(-[a-z]+)*:kms:(?<region>[^:]*):(?<account>[^:]*):(?<kind>key|alias)/(?<name>.*)$")]
    private static partial Regex KmsArnRule();

    [GeneratedRegex("^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$")]
    private static partial Regex KeyIdRule();

    // KMS's AliasName: 'alias/' then letters, digits, '/', '_', '-', at most 256 characters in all.
    [GeneratedRegex("^[a-zA-Z0-9/_-]{1,250}$")]
    private static partial Regex AliasNameRule();

    [GeneratedRegex("^[0-9]{12}$")]
    private static partial Regex AccountRule();

    private KmsProxySettings? ReadKmsProxy(YamlNode node, string path)
    {
        var fields = _yaml.Mapping(node, path, ["port", "region", "allow", "keys", "endpoint", "ca_file"]);
        if (fields is null)
        {
            return null;
        }

        var region = _yaml.Required(fields, node, path, "region", _yaml.String);
        if (region is not null && !RegionRule().IsMatch(region))
        {
            _yaml.Error(fields["region"], $"{path}.region", $"'{region}' is not an AWS region name such as us-east-1");
            region = null;
        }

        var port = Optional(fields, "port", _yaml.Port, path) ?? KmsProxySettings.DefaultPort;
        var allow = _yaml.Required(fields, node, path, "allow", KmsActionList);
        var keys = _yaml.Required(fields, node, path, "keys", (keysNode, keysPath) => KmsKeyList(keysNode, keysPath, region));
        var endpoint = Optional(fields, "endpoint", KmsEndpoint, path);
        var caFile = Optional(fields, "ca_file", ImagePath, path);
        var optionalRefused = (fields.ContainsKey("endpoint") && endpoint is null) || (fields.ContainsKey("ca_file") && caFile is null);
        return region is null || allow is null || keys is null || optionalRefused
            ? null
            : new KmsProxySettings { Port = port, Region = region, Allow = allow, Keys = keys, Endpoint = endpoint, CaFile = caFile };
    }

    private List<string>? KmsActionList(YamlNode node, string path) =>
        UniqueStrings(node, path, "a list of KMS action names such as Decrypt", "name the KMS actions the app may call, such as [Decrypt]", KmsActionError);

    private static string? KmsActionError(string action)
    {
        if (Array.IndexOf(KmsActions, action) >= 0)
        {
            return null;
        }

        // IAM policies spell actions kms:Decrypt; the proxy matches X-Amz-Target, which does not.
        if (action.StartsWith("kms:", StringComparison.OrdinalIgnoreCase) && Array.IndexOf(KmsActions, action[4..]) >= 0)
        {
            return $"write '{action[4..]}' without 'kms:': actions are named as in X-Amz-Target (TrentService.{action[4..]})";
        }

        var hint = KeySpelling.Closest(action, KmsActions)
            ?? Array.Find(KmsActions, known => string.Equals(known, action, StringComparison.OrdinalIgnoreCase));
        return $"'{action}' is not a KMS action" + (hint is null ? " (see the AWS KMS API reference's list of actions)" : $"; did you mean '{hint}'?");
    }

    private List<string>? KmsKeyList(YamlNode node, string path, string? region) =>
        UniqueStrings(node, path, "a list of key ARNs and aliases", "name the keys the app may use", key => KmsKeyError(key, region));

    private static string? KmsKeyError(string key, string? region)
    {
        if (key.StartsWith("alias/", StringComparison.Ordinal))
        {
            return AliasNameRule().IsMatch(key["alias/".Length..]) ? null : $"'{key}' is not a KMS alias name: alias/ then letters, digits, '/', '_' and '-'";
        }

        if (KeyIdRule().IsMatch(key))
        {
            return $"'{key}' is a bare key id; write its key ARN (arn:aws:kms:REGION:ACCOUNT:key/{key}): the proxy compares the key ARN KMS answers with against the key asked for, and a bare id names no account or region";
        }

        var arn = KmsArnRule().Match(key);
        if (!arn.Success)
        {
            return $"'{key}' is not {KeyForms}";
        }

        var (arnRegion, account, kind, name) = (arn.Groups["region"].Value, arn.Groups["account"].Value, arn.Groups["kind"].Value, arn.Groups["name"].Value);
        if (!RegionRule().IsMatch(arnRegion) || !AccountRule().IsMatch(account))
        {
            return $"'{key}' is not {KeyForms}: the region or the 12-digit account is missing or malformed";
        }

        if (kind == "key" ? !KeyIdRule().IsMatch(name) : !AliasNameRule().IsMatch(name))
        {
            return kind == "key"
                ? $"'{key}' does not end in a KMS key id (a lowercase UUID, or mrk-… for a multi-Region key)"
                : $"'{key}' does not end in a KMS alias name: letters, digits, '/', '_' and '-'";
        }

        return region is not null && arnRegion != region
            ? $"'{key}' is in {arnRegion}, but the proxy sends every request to {region} (kms_proxy.region)"
            : null;
    }

    /// <summary>A non-empty list of strings, each checked by <paramref name="check"/>, none twice.</summary>
    private List<string>? UniqueStrings(YamlNode node, string path, string expected, string whenEmpty, Func<string, string?> check)
    {
        var values = _yaml.Strings(node, path, expected);
        if (values is null)
        {
            return null;
        }

        if (values.Count == 0)
        {
            _yaml.Error(node, path, $"cannot be empty: {whenEmpty}");
            return null;
        }

        var items = ((YamlSequenceNode)node).Children;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var valid = true;
        for (var i = 0; i < values.Count; i++)
        {
            var error = check(values[i]) ?? (seen.Add(values[i]) ? null : $"'{values[i]}' is listed twice");
            if (error is not null)
            {
                _yaml.Error(items[i], $"{path}[{i}]", error);
                valid = false;
            }
        }

        return valid ? values : null;
    }

    private string? KmsEndpoint(YamlNode node, string path)
    {
        var text = _yaml.String(node, path);
        if (text is null)
        {
            return null;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || uri.Host.Length == 0)
        {
            _yaml.Error(node, path, $"'{text}' is not an absolute https:// URL");
            return null;
        }

        // KMS's wire is POST / on the endpoint's root: a path, query or credentials in the URL would be dropped or leaked.
        if (uri.UserInfo.Length > 0 || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            _yaml.Error(node, path, $"'{text}' must be https://HOST or https://HOST:PORT, without user, path, query or fragment");
            return null;
        }

        return uri.GetLeftPart(UriPartial.Authority);
    }

    private string? ImagePath(YamlNode node, string path)
    {
        var text = _yaml.String(node, path);
        if (text is null)
        {
            return null;
        }

        var components = text.Split('/');
        if (!text.StartsWith('/') || text.EndsWith('/') || text.Contains('\0', StringComparison.Ordinal) || components.Skip(1).Any(c => c is "" or "." or ".."))
        {
            _yaml.Error(node, path, $"'{text}' is not an absolute path to a file in the image, such as /etc/kms-roots.pem (no '.', '..' or empty components)");
            return null;
        }

        return text;
    }
}
