public enum NDJSONPlaceholder {}
