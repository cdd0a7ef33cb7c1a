import PolicyYAML
import SluiceJSON
import XCTest

@testable import KubeClient
@testable import Policy

/// API objects (as the server answers them, with status and server metadata) become the same
/// policies as the YAML `sluice apply` reads; an invalid object is reported alone.
final class PolicyObjectsTests: XCTestCase {
    private let yaml = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: allow-web
          namespace: team-a
        spec:
          endpointSelector:
            matchLabels: {app: web, "enabled": "true"}
          ingress:
          - fromEndpoints:
            - matchLabels: {app: client}
            toPorts:
            - ports: [{port: "80", protocol: TCP}]
              rules:
                http: [{method: GET, path: "/public/.*"}]
        ---
        apiVersion: cilium.io/v2
        kind: CiliumClusterwideNetworkPolicy
        metadata:
          name: dns
        spec:
          endpointSelector: {}
          egress:
          - toPorts:
            - ports: [{port: "53", protocol: ANY}]
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: np
          namespace: team-a
        spec:
          podSelector: {matchLabels: {app: db}}
          ingress:
          - ports: [{port: 5432}]
        """

    private let json = [
        #"{"apiVersion":"cilium.io/v2","kind":"CiliumNetworkPolicy","metadata":{"name":"allow-web","namespace":"team-a","uid":"u1","resourceVersion":"7","managedFields":[{"manager":"kubectl"}]},"spec":{"endpointSelector":{"matchLabels":{"app":"web","enabled":"true"}},"ingress":[{"fromEndpoints":[{"matchLabels":{"app":"client"}}],"toPorts":[{"ports":[{"port":"80","protocol":"TCP"}],"rules":{"http":[{"method":"GET","path":"/public/.*"}]}}]}]},"status":{"conditions":[]}}"#,
        #"{"apiVersion":"cilium.io/v2","kind":"CiliumClusterwideNetworkPolicy","metadata":{"name":"dns","resourceVersion":"8"},"spec":{"endpointSelector":{},"egress":[{"toPorts":[{"ports":[{"port":"53","protocol":"ANY"}]}]}]}}"#,
        #"{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"np","namespace":"team-a","generation":1},"spec":{"podSelector":{"matchLabels":{"app":"db"}},"ingress":[{"ports":[{"port":5432}]}],"policyTypes":null}}"#,
    ]

    func testObjectsGiveTheSamePoliciesAsTheirYAML() throws {
        let fromYAML = try PolicyFileParser.parse(
            documents: try PolicyYAML.documents(yaml, fileName: "f.yaml"), fileName: "f.yaml")
        let objects = try json.map { try JSONValue.parse(Array($0.utf8)) }
        let fromAPI = try PolicyFileParser.parse(documents: objects.map(PolicyObjects.document), fileName: "k8s")
        XCTAssertEqual(fromAPI.documents.map(\.key), fromYAML.documents.map(\.key))
        XCTAssertEqual(fromAPI.documents.map { "\($0.rules)" }, fromYAML.documents.map { "\($0.rules)" })
        // The comparison above is of the rules' full descriptions (selectors, ports, L7 rules).
        XCTAssertTrue("\(fromAPI.documents[0].rules)".contains("/public/.*"))
        XCTAssertTrue("\(fromAPI.documents[2].rules)".contains("5432"))
        XCTAssertEqual(
            fromAPI.documents.map(\.key.description),
            [
                "ciliumnetworkpolicy.cilium.io/team-a/allow-web", "ciliumclusterwidenetworkpolicy.cilium.io/dns",
                "networkpolicy.networking.k8s.io/team-a/np",
            ])
        XCTAssertEqual(PolicyObjects.sourceName(objects[1]), "k8s:CiliumClusterwideNetworkPolicy/dns")
    }

    func testScalarsKeepTheirJSONType() {
        XCTAssertEqual(PolicyObjects.node(.string("null")), .scalar("null", plain: false))
        XCTAssertEqual(PolicyObjects.node(.null), .scalar("null"))
        XCTAssertEqual(PolicyObjects.node(.number("5432")), .scalar("5432"))
        XCTAssertEqual(PolicyObjects.node(.bool(true)), .scalar("true"))
        let document = PolicyObjects.document(
            .object([("metadata", .object([("name", .string("a")), ("uid", .string("x"))])), ("status", .null)]))
        XCTAssertEqual(
            document, .mapping([(.scalar("metadata"), .mapping([(.scalar("name"), .scalar("a", plain: false))]))]))
    }

    func testAnInvalidObjectIsReportedAndTheOthersKept() throws {
        var objects: [String: JSONValue] = [:]
        for text in json {
            let value = try JSONValue.parse(Array(text.utf8))
            objects[KubeStore.key(of: value)!] = value
        }
        let bad =
            #"{"apiVersion":"cilium.io/v2","kind":"CiliumNetworkPolicy","metadata":{"name":"bad","namespace":"team-a"},"spec":{"endpointSelector":{},"ingress":[{"toPorts":[{"ports":[{"port":"99999"}]}]}]}}"#
        objects["team-a/bad"] = try JSONValue.parse(Array(bad.utf8))
        let (documents, errors) = PolicyObjects.validate(objects)
        XCTAssertEqual(Set(documents.keys), ["team-a/allow-web", "dns", "team-a/np"])
        XCTAssertEqual(Array(errors.keys), ["team-a/bad"])
        XCTAssertTrue(errors["team-a/bad"]!.hasPrefix("k8s:CiliumNetworkPolicy/team-a/bad"), errors["team-a/bad"]!)
        XCTAssertTrue(errors["team-a/bad"]!.contains("99999"), errors["team-a/bad"]!)
    }
}
