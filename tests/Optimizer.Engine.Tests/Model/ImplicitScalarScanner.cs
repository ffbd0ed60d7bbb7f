using System.Collections.Immutable;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace Optimizer.Engine.Tests.Model;

/// <summary>
/// Finds, from IL, every TorchSharp method that creates a <c>Scalar</c> implicitly (its own body calls
/// <c>Scalar.op_Implicit</c>, e.g. <c>Tensor.square()</c> = <c>pow(2)</c>, or calls such a method), and every call an
/// assembly makes to one of them or to <c>Scalar.op_Implicit</c> itself. Such a Scalar is freed only by the finalizer.
/// </summary>
internal static class ImplicitScalarScanner
{
    /// <summary>Methods of <paramref name="torchSharpPath"/> that create a Scalar implicitly, as "Type::name(params)".</summary>
    public static IReadOnlySet<string> Creators(string torchSharpPath)
    {
        using var stream = File.OpenRead(torchSharpPath);
        using var pe = new PEReader(stream);
        MetadataReader md = pe.GetMetadataReader();
        var names = new SignatureNames();
        var callees = new Dictionary<string, HashSet<string>>();
        var creators = new HashSet<string>();
        foreach (var handle in md.MethodDefinitions)
        {
            MethodDefinition method = md.GetMethodDefinition(handle);
            string key = Key(md, method, names);
            if (!callees.TryGetValue(key, out var calls)) callees[key] = calls = new HashSet<string>();
            if (method.RelativeVirtualAddress == 0) continue;
            foreach (int token in CallTokens(pe.GetMethodBody(method.RelativeVirtualAddress).GetILBytes() ?? Array.Empty<byte>()))
            {
                if (token >> 24 != 0x06 || (token & 0xFFFFFF) == 0 || (token & 0xFFFFFF) > md.GetTableRowCount(TableIndex.MethodDef)) continue;
                MethodDefinition callee = md.GetMethodDefinition(MetadataTokens.MethodDefinitionHandle(token & 0xFFFFFF));
                string calleeKey = Key(md, callee, names);
                if (calleeKey.StartsWith("Scalar::op_Implicit(", StringComparison.Ordinal)) creators.Add(key);
                else calls.Add(calleeKey);
            }
        }
        for (bool changed = true; changed;)
        {
            changed = false;
            foreach (var (method, calls) in callees)
            {
                if (!creators.Contains(method) && calls.Any(creators.Contains)) changed = creators.Add(method) | changed;
            }
        }
        return creators;
    }

    /// <summary>
    /// Calls in <paramref name="assemblyPath"/> to <c>Scalar.op_Implicit</c> or to one of <paramref name="creators"/>,
    /// as "CallingType::method -> Type::name(params)", sorted.
    /// </summary>
    public static IReadOnlyList<string> Offenders(string assemblyPath, IReadOnlySet<string> creators)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        MetadataReader md = pe.GetMetadataReader();
        var names = new SignatureNames();
        var found = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var typeHandle in md.TypeDefinitions)
        {
            TypeDefinition type = md.GetTypeDefinition(typeHandle);
            foreach (var methodHandle in type.GetMethods())
            {
                MethodDefinition method = md.GetMethodDefinition(methodHandle);
                if (method.RelativeVirtualAddress == 0) continue;
                foreach (int token in CallTokens(pe.GetMethodBody(method.RelativeVirtualAddress).GetILBytes() ?? Array.Empty<byte>()))
                {
                    if (token >> 24 != 0x0A || (token & 0xFFFFFF) == 0 || (token & 0xFFFFFF) > md.GetTableRowCount(TableIndex.MemberRef)) continue;
                    MemberReference reference = md.GetMemberReference(MetadataTokens.MemberReferenceHandle(token & 0xFFFFFF));
                    if (reference.GetKind() != MemberReferenceKind.Method || reference.Parent.Kind != HandleKind.TypeReference) continue;
                    TypeReference parent = md.GetTypeReference((TypeReferenceHandle)reference.Parent);
                    string key = md.GetString(parent.Name) + "::" + md.GetString(reference.Name)
                        + "(" + string.Join(", ", reference.DecodeMethodSignature(names, null).ParameterTypes) + ")";
                    bool implicitScalar = md.GetString(parent.Namespace) == "TorchSharp" && key.StartsWith("Scalar::op_Implicit(", StringComparison.Ordinal);
                    if (implicitScalar || creators.Contains(key)) found.Add($"{md.GetString(type.Name)}::{md.GetString(method.Name)} -> {key}");
                }
            }
        }
        return found.ToArray();
    }

    /// <summary>Tokens following call, callvirt and newobj opcode bytes (a byte scan: it may see extra tokens, never misses one).</summary>
    private static IEnumerable<int> CallTokens(byte[] il)
    {
        for (int i = 0; i + 4 < il.Length; i++)
        {
            if (il[i] is 0x28 or 0x6F or 0x73) yield return BitConverter.ToInt32(il, i + 1);
        }
    }

    private static string Key(MetadataReader md, MethodDefinition method, SignatureNames names) =>
        md.GetString(md.GetTypeDefinition(method.GetDeclaringType()).Name) + "::" + md.GetString(method.Name)
        + "(" + string.Join(", ", method.DecodeSignature(names, null).ParameterTypes) + ")";

    /// <summary>Short type names for signature keys; definitions and references of one type print alike.</summary>
    private sealed class SignatureNames : ISignatureTypeProvider<string, object?>
    {
        public string GetArrayType(string elementType, ArrayShape shape) => elementType + "[,]";
        public string GetByReferenceType(string elementType) => "ref " + elementType;
        public string GetFunctionPointerType(MethodSignature<string> signature) => "fnptr";
        public string GetGenericInstantiation(string genericType, ImmutableArray<string> typeArguments) => genericType + "<" + string.Join(",", typeArguments) + ">";
        public string GetGenericMethodParameter(object? genericContext, int index) => "!!" + index;
        public string GetGenericTypeParameter(object? genericContext, int index) => "!" + index;
        public string GetModifiedType(string modifier, string unmodifiedType, bool isRequired) => unmodifiedType;
        public string GetPinnedType(string elementType) => elementType;
        public string GetPointerType(string elementType) => elementType + "*";
        public string GetPrimitiveType(PrimitiveTypeCode typeCode) => typeCode.ToString();
        public string GetSZArrayType(string elementType) => elementType + "[]";
        public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => reader.GetString(reader.GetTypeDefinition(handle).Name);
        public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => reader.GetString(reader.GetTypeReference(handle).Name);
        public string GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) => "spec";
    }
}
