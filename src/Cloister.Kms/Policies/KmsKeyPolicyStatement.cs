using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Cloister.Kms.Policies;

/// <summary>
/// A key policy statement that lets one principal use a KMS key only from an enclave with the given measurements:
/// the operations that take a <c>Recipient</c>, conditioned on <c>kms:RecipientAttestation:ImageSha384</c> (PCR0) and
/// <c>kms:RecipientAttestation:PCRn</c> for the other PCRs pinned (<c>docs/kms.md</c>, "Key policies").
/// </summary>
/// <remarks>
/// A request without a <c>Recipient</c> carries no <c>kms:RecipientAttestation:*</c> values, so this statement never
/// admits it; the statement grants nothing outside an attested enclave.
/// </remarks>
public sealed partial class KmsKeyPolicyStatement
{
    /// <summary>The principal written when none is given, to be replaced with the host's role by whoever applies the policy.</summary>
    public const string PlaceholderPrincipal = "arn:aws:iam::111122223333:role/REPLACE-WITH-THE-HOST-ROLE";

    /// <summary>The PCRs a statement can pin: those KMS offers as condition keys (PCR0 as <c>ImageSha384</c>).</summary>
    public static IReadOnlyList<int> PinnablePcrs { get; } = [0, 1, 2, 3, 4, 8];

    /// <summary>The KMS operations that take a <c>Recipient</c>, in the order statements list them.</summary>
    public static IReadOnlyList<string> RecipientActions { get; } = ["Decrypt", "GenerateDataKey", "GenerateDataKeyPair", "DeriveSharedSecret", "GenerateRandom"];

    private const string ConditionPrefix = "kms:RecipientAttestation:";

    [GeneratedRegex("^arn:aws(-[a-z]+)*:(iam|sts)::[0-9]{12}:[!-~]+$")]
    private static partial Regex PrincipalRule();

    [GeneratedRegex("[A-Za-z0-9]+")]
    private static partial Regex WordRule();

    private readonly SortedDictionary<int, byte[]> _pcrs;

    private KmsKeyPolicyStatement(string sid, string principal, IReadOnlyList<string> actions, SortedDictionary<int, byte[]> pcrs)
    {
        Sid = sid;
        Principal = principal;
        Actions = actions;
        _pcrs = pcrs;
    }

    /// <summary>
    /// The statement id: <c>CloisterEnclave</c> and the enclave's name in PascalCase, its other characters dropped (IAM
    /// allows only ASCII letters and digits): <c>payments-prod</c> gives <c>CloisterEnclavePaymentsProd</c>.
    /// </summary>
    public string Sid { get; }

    /// <summary>The AWS principal (an IAM or STS ARN) the statement admits.</summary>
    public string Principal { get; }

    /// <summary>The operations granted, without the <c>kms:</c> prefix, in <see cref="RecipientActions"/>' order.</summary>
    public IReadOnlyList<string> Actions { get; }

    /// <summary>The condition keys and the lowercase hex each must equal (ignoring case), <c>ImageSha384</c> first, then by PCR.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Conditions =>
        [.. _pcrs.Select(pcr => KeyValuePair.Create(ConditionKey(pcr.Key), Convert.ToHexStringLower(pcr.Value)))];

    /// <summary>Makes the statement for an enclave image.</summary>
    /// <param name="enclaveName">The enclave's name (the manifest's <c>name</c>, or the EIF's image name).</param>
    /// <param name="principal">The principal to admit, or <see langword="null"/> for <see cref="PlaceholderPrincipal"/>.</param>
    /// <param name="pcrs">The PCRs to pin by index, each 48 bytes; must include PCR0.</param>
    /// <param name="allowedActions">
    /// The image's <c>kms_proxy.allow</c>, which narrows <see cref="RecipientActions"/>, or <see langword="null"/> to
    /// grant all of them.
    /// </param>
    /// <returns>The statement.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="enclaveName"/> or <paramref name="pcrs"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// The name has no ASCII letter or digit, the principal is not an IAM or STS ARN, PCR0 is missing, a PCR is not one of
    /// <see cref="PinnablePcrs"/>, is not 48 bytes or is all zeros (what every debug-mode enclave attests), or
    /// <paramref name="allowedActions"/> names none of <see cref="RecipientActions"/>.
    /// </exception>
    public static KmsKeyPolicyStatement ForEnclave(string enclaveName, string? principal, IReadOnlyDictionary<int, byte[]> pcrs, IReadOnlyCollection<string>? allowedActions = null)
    {
        ArgumentNullException.ThrowIfNull(enclaveName);
        ArgumentNullException.ThrowIfNull(pcrs);
        var words = WordRule().Matches(enclaveName).Select(match => match.Value).ToList();
        if (words.Count == 0)
        {
            throw new ArgumentException($"'{enclaveName}' has no letter or digit to name the statement with", nameof(enclaveName));
        }

        var sid = "CloisterEnclave" + string.Concat(words.Select(word => char.ToUpperInvariant(word[0]) + word[1..]));

        if (principal is not null && !IsPrincipalArn(principal))
        {
            throw new ArgumentException($"'{principal}' is not an IAM principal ARN such as arn:aws:iam::111122223333:role/NAME", nameof(principal));
        }

        if (!pcrs.ContainsKey(0))
        {
            throw new ArgumentException("PCR0 must be pinned: it is the image itself (kms:RecipientAttestation:ImageSha384)", nameof(pcrs));
        }

        var pinned = new SortedDictionary<int, byte[]>();
        foreach (var (index, value) in pcrs)
        {
            if (!PinnablePcrs.Contains(index))
            {
                throw new ArgumentException($"PCR{index} cannot be pinned: KMS's condition keys name PCR {string.Join(", ", PinnablePcrs)}", nameof(pcrs));
            }

            if (value is not { Length: 48 })
            {
                throw new ArgumentException($"PCR{index} must be 48 bytes (SHA-384), not {value?.Length ?? 0}", nameof(pcrs));
            }

            if (!value.AsSpan().ContainsAnyExcept((byte)0))
            {
                throw new ArgumentException($"PCR{index} is all zeros, which every debug-mode enclave attests: a policy pinning it would admit any debug-mode enclave", nameof(pcrs));
            }

            pinned[index] = [.. value];
        }

        var actions = allowedActions is null ? RecipientActions : [.. RecipientActions.Where(allowedActions.Contains)];
        if (actions.Count == 0)
        {
            throw new ArgumentException($"the allowed actions name none of the operations that take a Recipient ({string.Join(", ", RecipientActions)}): the statement would grant nothing", nameof(allowedActions));
        }

        return new KmsKeyPolicyStatement(sid, principal ?? PlaceholderPrincipal, actions, pinned);
    }

    /// <summary>Whether <paramref name="principal"/> can be a statement's principal: an IAM or STS ARN (<c>arn:aws:iam::ACCOUNT:role/NAME</c>, <c>…:user/NAME</c>, …).</summary>
    /// <param name="principal">The ARN.</param>
    /// <returns>Whether it is one.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="principal"/> is <see langword="null"/>.</exception>
    public static bool IsPrincipalArn(string principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        return PrincipalRule().IsMatch(principal);
    }

    /// <summary>Writes the statement as one JSON object: <c>Sid, Effect, Principal, Action, Resource, Condition</c>, in that order.</summary>
    /// <param name="writer">Where a value is expected.</param>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> is <see langword="null"/>.</exception>
    public void WriteTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString(nameof(Sid), Sid);
        writer.WriteString("Effect", "Allow");
        writer.WriteStartObject(nameof(Principal));
        writer.WriteString("AWS", Principal);
        writer.WriteEndObject();
        writer.WriteStartArray("Action");
        foreach (var action in Actions)
        {
            writer.WriteStringValue("kms:" + action);
        }

        writer.WriteEndArray();
        writer.WriteString("Resource", "*");
        writer.WriteStartObject("Condition");
        writer.WriteStartObject("StringEqualsIgnoreCase");
        foreach (var (key, value) in Conditions)
        {
            writer.WriteString(key, value);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>The statement as indented JSON (two spaces, <c>\n</c>), without a final newline; the same text for the same statement on every machine.</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, NewLine = "\n" }))
        {
            WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string ConditionKey(int pcr) => ConditionPrefix + (pcr == 0 ? "ImageSha384" : "PCR" + pcr.ToString(CultureInfo.InvariantCulture));

}
