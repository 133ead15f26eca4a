#!/bin/bash

# Configuración
API_URL="http://localhost:5000"
TENANT_NAME="Acme Corporation"
TENANT_SLUG="acme"
TENANT_PLAN="Premium"

echo "=== Iniciando Aprovisionamiento de Tenant ==="
echo "Nombre: $TENANT_NAME"
echo "Slug: $TENANT_SLUG"
echo "Plan: $TENANT_PLAN"
echo ""

# 1. Inicializar
echo "1. Inicializando aprovisionamiento..."
INIT_RESPONSE=$(curl -s -X POST "$API_URL/provision/tenants/init" \
  -H "Content-Type: application/json" \
  -d "{
    \"name\": \"$TENANT_NAME\",
    \"slug\": \"$TENANT_SLUG\",
    \"plan\": \"$TENANT_PLAN\"
  }")

echo "Response:"
echo "$INIT_RESPONSE" | jq .
echo ""

# Extraer token y provisioningId
CONFIRM_TOKEN=$(echo "$INIT_RESPONSE" | jq -r '.confirmToken')
PROVISIONING_ID=$(echo "$INIT_RESPONSE" | jq -r '.provisioningId')

if [ "$CONFIRM_TOKEN" == "null" ] || [ "$PROVISIONING_ID" == "null" ]; then
  echo "Error: No se pudo inicializar el aprovisionamiento"
  exit 1
fi

echo "Provisioning ID: $PROVISIONING_ID"
echo "Token obtenido (válido por 15 minutos)"
echo ""

# 2. Confirmar
echo "2. Confirmando aprovisionamiento..."
CONFIRM_RESPONSE=$(curl -s -X POST "$API_URL/provision/tenants/confirm" \
  -H "Authorization: Bearer $CONFIRM_TOKEN")

echo "Response:"
echo "$CONFIRM_RESPONSE" | jq .
echo ""

# 3. Monitorear estado
echo "3. Monitoreando estado del aprovisionamiento..."
while true; do
  STATUS_RESPONSE=$(curl -s -X GET "$API_URL/provision/tenants/$PROVISIONING_ID/status")
  STATUS=$(echo "$STATUS_RESPONSE" | jq -r '.status')
  
  echo "Estado actual: $STATUS"
  
  if [ "$STATUS" == "Active" ]; then
    echo ""
    echo "? Aprovisionamiento completado exitosamente!"
    echo ""
    echo "Detalles del tenant:"
    echo "$STATUS_RESPONSE" | jq .
    break
  elif [ "$STATUS" == "Failed" ]; then
    echo ""
    echo "? Aprovisionamiento falló"
    echo ""
    echo "Detalles del error:"
    echo "$STATUS_RESPONSE" | jq .
    exit 1
  fi
  
  sleep 3
done
