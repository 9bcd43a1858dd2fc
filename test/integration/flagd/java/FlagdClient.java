// Drives OpenFeature's flagd provider for Java (in-process mode) for test/integration/flagd-java.test.ts.
//
// Usage: java -cp '<lib>/*' FlagdClient.java. One JSON command per line on stdin, one JSON answer per
// line on stdout (the protocol of ../flagd_client.py, less "offline"):
//   {"op": "connect", "host", "port", "token", "selector"?}
//       an in-process FlagdProvider syncing from Ripcord's gRPC FlagSyncService, the token sent as
//       `authorization: Bearer` metadata on every call (plaintext, local)
//   {"op": "evaluate", "items": [{"key", "type", "context"}]}  through the OpenFeature client
//   {"op": "wait", "key", "type", "context", "value", "timeout_ms"}
//       polls the client every 2 ms until the flag serves `value`; answers when it first did (epoch ms)

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.openfeature.contrib.providers.flagd.Config;
import dev.openfeature.contrib.providers.flagd.FlagdOptions;
import dev.openfeature.contrib.providers.flagd.FlagdProvider;
import dev.openfeature.sdk.Client;
import dev.openfeature.sdk.EvaluationContext;
import dev.openfeature.sdk.FlagEvaluationDetails;
import dev.openfeature.sdk.ImmutableContext;
import dev.openfeature.sdk.OpenFeatureAPI;
import dev.openfeature.sdk.ProviderState;
import dev.openfeature.sdk.Value;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public class FlagdClient {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** An OpenFeature value as plain JSON-able Java (structures as maps, lists as lists). */
  private static Object plain(Object value) {
    if (!(value instanceof Value v)) return value;
    if (v.isNull()) return null;
    if (v.isStructure()) {
      Map<String, Object> out = new LinkedHashMap<>();
      v.asStructure().asMap().forEach((k, inner) -> out.put(k, plain(inner)));
      return out;
    }
    if (v.isList()) {
      List<Object> out = new ArrayList<>();
      for (Value inner : v.asList()) out.add(plain(inner));
      return out;
    }
    return v.asObject();
  }

  private static EvaluationContext contextOf(JsonNode raw) {
    Map<String, Object> attributes = raw == null || raw.isNull() ? new LinkedHashMap<>() : JSON.convertValue(raw, Map.class);
    Object targetingKey = attributes.remove("targetingKey");
    Map<String, Value> values = new LinkedHashMap<>();
    attributes.forEach((k, v) -> values.put(k, Value.objectToValue(v)));
    return targetingKey == null ? new ImmutableContext(values) : new ImmutableContext(String.valueOf(targetingKey), values);
  }

  private static Map<String, Object> answer(Client client, String key, String type, EvaluationContext context) {
    FlagEvaluationDetails<?> details = switch (type) {
      case "boolean" -> client.getBooleanDetails(key, false, context);
      case "string" -> client.getStringDetails(key, "", context);
      case "number" -> client.getDoubleDetails(key, 0.0, context);
      default -> client.getObjectDetails(key, new Value(), context);
    };
    Map<String, Object> out = new LinkedHashMap<>();
    if (details.getErrorCode() != null) {
      out.put("reason", "ERROR");
      out.put("errorCode", details.getErrorCode().name());
      return out;
    }
    out.put("value", plain(details.getValue()));
    out.put("variant", details.getVariant());
    out.put("reason", details.getReason());
    return out;
  }

  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    OpenFeatureAPI api = OpenFeatureAPI.getInstance();
    Client client = null;
    String line;
    while ((line = in.readLine()) != null) {
      JsonNode command = JSON.readTree(line);
      String op = command.get("op").asText();
      Object answer;
      switch (op) {
        case "connect" -> {
          Metadata headers = new Metadata();
          headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + command.get("token").asText());
          FlagdOptions options = FlagdOptions.builder()
              .resolverType(Config.Resolver.IN_PROCESS)
              .host(command.get("host").asText())
              .port(command.get("port").asInt())
              .selector(command.hasNonNull("selector") ? command.get("selector").asText() : null)
              .clientInterceptors(List.of(MetadataUtils.newAttachHeadersInterceptor(headers)))
              .deadline(10_000)
              .build();
          // Blocks until the first document has synced (or the deadline passes).
          api.setProviderAndWait(new FlagdProvider(options));
          client = api.getClient();
          answer = Map.of("connected", client.getProviderState() == ProviderState.READY);
        }
        case "evaluate" -> {
          List<Object> answers = new ArrayList<>();
          for (JsonNode item : command.get("items")) {
            answers.add(answer(client, item.get("key").asText(), item.get("type").asText(), contextOf(item.get("context"))));
          }
          answer = Map.of("answers", answers);
        }
        case "wait" -> {
          EvaluationContext context = contextOf(command.get("context"));
          JsonNode wanted = command.get("value");
          long deadline = System.nanoTime() + command.get("timeout_ms").asLong() * 1_000_000L;
          Map<String, Object> seen = null;
          Double seenAtMs = null;
          while (System.nanoTime() < deadline) {
            seen = answer(client, command.get("key").asText(), command.get("type").asText(), context);
            if (seen.containsKey("value") && JSON.valueToTree(seen.get("value")).equals(wanted)) {
              seenAtMs = (double) System.currentTimeMillis();
              break;
            }
            Thread.sleep(2);
          }
          Map<String, Object> out = new LinkedHashMap<>();
          out.put("seen_at_ms", seenAtMs);
          out.put("last", seen);
          answer = out;
        }
        default -> answer = Map.of("error", "unknown op " + op);
      }
      System.out.println(JSON.writeValueAsString(answer));
      System.out.flush();
    }
    api.shutdown();
    System.exit(0);
  }
}
